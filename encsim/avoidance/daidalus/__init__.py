"""DAIDALUS-exact DO-365 detect-and-avoid alerting (DAIDALUS v2.0.4 parity); see docs/daidalus.md."""
