"""OpenMP threads wait passively between kernels unless the user chose otherwise (issue 19)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _policy_after_import(env_policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT)
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    code = "import encsim, os; print(os.environ.get('OMP_WAIT_POLICY', ''))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_import_sets_passive_wait_policy_by_default():
    assert _policy_after_import(None).strip() == "PASSIVE"


def test_import_keeps_the_users_wait_policy():
    assert _policy_after_import("ACTIVE").strip() == "ACTIVE"
