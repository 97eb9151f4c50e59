"""An exclusive lock on a run directory, held for the whole of a run (or a merge).

Two runs writing the same chunk files at once would leave files whose manifest checksums vouch for
other bytes. The lock is a file, ``run.lock``, created atomically (a complete temporary file hard-
linked into place, so it is never seen half-written) and naming its holder: process id, host,
start time, command. A second run is refused with the holder named. A lock left by a run that was
killed is *stale* when its holder is on this host and its process is gone (or the id now belongs
to a process started later, or the machine rebooted since); a stale lock is cleared and taken.
A lock held from another host is never cleared automatically: whether that run still lives cannot
be known from here, so the message says which file to remove once it is known to be dead.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

LOCK = "run.lock"


class RunLockedError(RuntimeError):
    """The run directory is in use by another encsim process (the message names it)."""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_start_ticks(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields follow the last ')'
    return int(stat.rpartition(")")[2].split()[19])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _holder() -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "boot_id": _boot_id(),
        "start_ticks": _process_start_ticks(os.getpid()),
    }


def describe_holder(holder: dict) -> str:
    return f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started_utc')}" + (
        f" ({holder['command']})" if holder.get("command") else ""
    )


def stale_reason(holder: dict) -> str | None:
    """Why a lock's holder is certainly gone (None if it may be alive, e.g. on another host)."""
    if holder.get("host") != socket.gethostname():
        return None
    if holder.get("boot_id") and _boot_id() and holder["boot_id"] != _boot_id():
        return "the machine rebooted since it was taken"
    pid = holder.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return f"process {pid} is gone"
    ticks = holder.get("start_ticks")
    if ticks is not None and _process_start_ticks(pid) not in (None, ticks):
        return f"process id {pid} now belongs to another process"
    return None


def read_holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _try_create(path: Path, holder: dict) -> bool:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(holder, indent=1))
    try:
        os.link(tmp, path)  # atomic, and fails if a lock exists: never a half-written lock
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _clear_stale(path: Path, seen: dict) -> None:
    """Move a stale lock aside; if another process replaced it meanwhile, put that one back."""
    aside = path.with_name(f"{path.name}.stale.{os.getpid()}")
    try:
        path.rename(aside)
    except FileNotFoundError:  # another process cleared it first
        return
    if read_holder(aside) != seen:  # we moved a fresh lock someone took after we read the stale one
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)


def acquire(run_dir, *, on_stale=None) -> dict:
    """Take the lock of ``run_dir`` (created if missing), clearing a stale one; returns the holder record."""
    path = Path(run_dir) / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = _holder()
    for _ in range(5):
        if _try_create(path, holder):
            return holder
        existing = read_holder(path)
        if existing is None:  # released meanwhile
            continue
        if not existing:
            raise RunLockedError(
                f"{run_dir} is locked by {path}, which cannot be read: if no encsim run uses this folder, "
                "remove the file and start again"
            )
        reason = stale_reason(existing)
        if reason is None:
            raise RunLockedError(
                f"{run_dir} is in use by another encsim run: {describe_holder(existing)}. Wait for it to "
                f"finish; if it is known to be dead (e.g. killed on another host), remove {path}"
            )
        if on_stale is not None:
            on_stale(f"cleared a stale lock of {run_dir} ({describe_holder(existing)}): {reason}")
        _clear_stale(path, existing)
    raise RunLockedError(f"{run_dir}: could not take the lock {path} (other processes keep taking it)")


def release(run_dir, holder: dict) -> None:
    """Remove the lock if it is still this holder's."""
    path = Path(run_dir) / LOCK
    if read_holder(path) == holder:
        path.unlink(missing_ok=True)


@contextmanager
def locked(run_dir, *, on_stale=None):
    """Hold the lock of ``run_dir`` for the ``with`` block."""
    holder = acquire(run_dir, on_stale=on_stale)
    try:
        yield holder
    finally:
        release(run_dir, holder)
