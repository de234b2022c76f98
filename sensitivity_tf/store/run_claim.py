"""Ownership of a directory by one process at a time: an atomic claim file with a heartbeat.

A process that is about to work in a directory (train into a run directory) first writes
``<dir>/claim.json`` holding its host, pid, the start time of that pid, a random token and
the time of the claim. The file is created atomically, in a way that works on NFS too (a
temporary file hard-linked to the claim's name: ``link`` fails if the name exists), never by
``flock``, which NFS does not honour reliably. While the owner works, a daemon thread touches
the claim every `HEARTBEAT_SECS` (its modification time is the heartbeat); the owner removes
it when done, whether it succeeded or failed.

A second process that finds a claim either stops at once with a one-line `ClaimError` naming
the owner, or takes the claim over when it is **stale**:

* on the same host: the owner's pid is gone, or now belongs to another process (its start
  time differs): a ``kill -9`` leaves a claim that the next start takes over at once;
* on another host: no heartbeat for `STALE_AFTER_SECS` (hosts' clocks are assumed to agree to
  well within that).

A take-over renames the stale claim away first (only one of two racing processes can), then
claims as above. Test hook: ``$SENSITIVITY_TF_HOLD_AFTER_CLAIM=<file>`` makes the owner wait,
right after claiming, until ``<file>`` exists (at most 120 s), so that tests can start a second
process inside the window deterministically.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import socket
import threading
import time
import uuid
from typing import Callable, Iterator, Optional

from sensitivity_tf.store.run_dir import RunDirError

CLAIM = "claim.json"
HEARTBEAT_SECS = 30.0
STALE_AFTER_SECS = 150.0
HOLD_ENV = "SENSITIVITY_TF_HOLD_AFTER_CLAIM"


class ClaimError(RunDirError):
  """The directory is owned by another live process (one-line message)."""


def _process_start(pid: int) -> Optional[str]:
  """The start time of ``pid`` in clock ticks since boot (Linux), None where unknown."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[19]
  except (OSError, IndexError):
    return None


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def _read(path: pathlib.Path) -> Optional[dict]:
  try:
    return json.loads(path.read_text())
  except FileNotFoundError:
    return None
  except ValueError:
    return {}  # half-written by hand or damaged: judged by its age alone


def stale_reason(path: pathlib.Path, claim: dict) -> Optional[str]:
  """Why the claim in ``path`` is stale (its owner is gone), or None if it may be alive."""
  try:
    age = time.time() - path.stat().st_mtime
  except FileNotFoundError:
    return "removed"
  if claim.get("host") == socket.gethostname() and isinstance(claim.get("pid"), int):
    pid = claim["pid"]
    if not _pid_alive(pid):
      return f"its process {pid} is gone"
    start = _process_start(pid)
    if claim.get("pid_start") and start and start != claim["pid_start"]:
      return f"its process {pid} is gone (the pid now belongs to another process)"
    return None
  if age > STALE_AFTER_SECS:
    return f"no heartbeat for {age:.0f} s"
  return None


def describe(claim: dict) -> str:
  if not claim:  # empty or damaged: never written by a process (claims are linked whole)
    return "a damaged claim file (no owner recorded)"
  return (f"pid {claim.get('pid', '?')} on {claim.get('host', '?')} since "
          f"{claim.get('claimed_at', '?')}")


def _damaged(directory: pathlib.Path, path: pathlib.Path) -> str:
  """The refusal for a damaged (empty or unreadable) claim that is still young: it names no
  owner, so only its age tells whether some process keeps touching it."""
  try:
    stat = path.stat()
    size, age = stat.st_size, time.time() - stat.st_mtime
  except FileNotFoundError:
    size, age = 0, 0.0
  what = "empty" if size == 0 else f"{size} bytes, not JSON"
  return (f"{directory} is claimed by a damaged claim file {path} ({what}, no owner recorded), "
          f"touched {age:.0f} s ago; it is taken over once untouched for "
          f"{STALE_AFTER_SECS:.0f} s (a live owner keeps touching it); remove it if no "
          "process trains here")


class Claim:
  """An acquired claim; `release` (or leaving `claimed`) removes it."""

  def __init__(self, path: pathlib.Path, record: dict):
    self.path = path
    self.record = record
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._beat, daemon=True, name="claim-heartbeat")
    self._thread.start()

  def _beat(self) -> None:
    while not self._stop.wait(HEARTBEAT_SECS):
      try:
        os.utime(self.path)
      except OSError:
        pass

  def release(self) -> None:
    self._stop.set()
    current = _read(self.path)
    if current and current.get("token") == self.record["token"]:
      with contextlib.suppress(FileNotFoundError):
        self.path.unlink()


def _try_create(path: pathlib.Path, record: dict) -> bool:
  tmp = path.parent / f".tmp-{CLAIM}.{record['token']}"
  tmp.write_text(json.dumps(record, indent=2) + "\n")
  try:
    os.link(tmp, path)
    return True
  except FileExistsError:
    return False
  finally:
    tmp.unlink()


def acquire(directory, log: Callable[[str], None] = print) -> Claim:
  """Claims ``directory`` (created if needed) for this process, taking over a stale claim;
  ClaimError if a live process owns it."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  path = directory / CLAIM
  record = dict(host=socket.gethostname(), pid=os.getpid(), pid_start=_process_start(os.getpid()),
                token=uuid.uuid4().hex,
                claimed_at=datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"))
  for _ in range(5):
    if _try_create(path, record):
      claim = Claim(path, record)
      try:
        _hold_for_tests(path)
      except BaseException:  # Ctrl-C while held
        claim.release()
        raise
      return claim
    current = _read(path)
    if current is None:
      continue  # released in between: try again
    reason = stale_reason(path, current)
    if reason is None and not current:
      raise ClaimError(_damaged(directory, path))
    if reason is None:
      raise ClaimError(
          f"{directory} is in use by {describe(current)} ({path}); wait for it to finish, or "
          f"remove {path} if that process is gone")
    aside = directory / f".tmp-{CLAIM}.stale-{record['token']}"
    try:
      os.rename(path, aside)
    except FileNotFoundError:
      continue  # another process took it over first
    moved = _read(aside)
    if moved and moved.get("token") != current.get("token"):
      # Between our read and the rename another process claimed it afresh: put it back.
      with contextlib.suppress(FileExistsError):
        os.link(aside, path)
      aside.unlink()
      continue
    aside.unlink()
    log(f"{directory}: took over the stale claim of {describe(current)} ({reason})")
  raise ClaimError(f"{directory}: could not claim {path} (other processes keep claiming it)")


def _hold_for_tests(path: pathlib.Path) -> None:
  hold = os.environ.get(HOLD_ENV)
  if not hold:
    return
  deadline = time.time() + 120
  while not os.path.exists(hold) and time.time() < deadline:
    time.sleep(0.05)


@contextlib.contextmanager
def claimed(directory, log: Callable[[str], None] = print) -> Iterator[Claim]:
  """``acquire`` for the duration of a ``with`` block."""
  claim = acquire(directory, log=log)
  try:
    yield claim
  finally:
    claim.release()
