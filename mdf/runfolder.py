"""The run folder: one place that says, at any time, which pixels are done, running or failed.

Layout (every file written through a temporary file and a rename, so no reader ever sees a
partial file)::

    RUN/run.json               settings every pixel of the run shares (checked on every start)
    RUN/pixels.csv             the full pixel list, in order (shards split this list)
    RUN/results/<id>.nc        a finished pixel (mdf.CalibrationResult.to_netcdf)
    RUN/checkpoints/<id>.npz   an unfinished pixel's last block (resumed by the next attempt)
    RUN/running/<id>.json      a claim: host, pid, start time; touched after every block
    RUN/failed/<id>.txt        the error of the last failed attempt

A pixel's state follows from these files alone (:meth:`RunFolder.states`): ``done`` (result),
``failed`` (error file, no result), ``running`` (a live claim), ``interrupted`` (a claim whose
process is gone, or a checkpoint without a claim: the next attempt resumes it) or ``pending``.
A claim is live while its process exists (same host) and its heartbeat is younger than
``stale_after`` seconds (other hosts, whose processes cannot be checked).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

STATES = ("done", "running", "interrupted", "failed", "pending")


class RunFolderError(ValueError):
    """A run folder that belongs to another run (different settings or pixel list)."""


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through ``.<name>.tmp<pid>`` and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists and has not exited (a zombie, exited but
    not yet reaped by its parent, counts as gone: Linux ``/proc``, where there is one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunFolder:
    """Paths and pixel states of a run folder.

    Parameters
    ----------
    path : path
        The folder (created by :meth:`prepare`).
    """

    def __init__(self, path):
        self.path = Path(path)

    # ------------------------------------------------------------------ setup
    @classmethod
    def prepare(cls, path, pixels, settings: dict) -> RunFolder:
        """Create the folder for ``pixels`` and ``settings``, or check that it is theirs.

        Raises
        ------
        RunFolderError
            The folder holds another run's settings or pixel list.
        """
        folder = cls(path)
        for sub in ("results", "checkpoints", "running", "failed", "logs"):
            (folder.path / sub).mkdir(parents=True, exist_ok=True)
        text = json.dumps(settings, indent=1, sort_keys=True) + "\n"
        listing = pixels.to_csv()
        for name, want, what in (("run.json", text, "settings"), ("pixels.csv", listing,
                                                                   "pixel list")):
            target = folder.path / name
            if not target.exists():
                atomic_write_text(target, want)
            if target.read_text() != want:
                raise RunFolderError(
                    f"{target}: this run folder was made with another {what}; use a new "
                    f"--out-dir, or the same {what} as the run that made it"
                    + (f" (it has {target.read_text().strip()})" if what == "settings" else "")
                )
        return folder

    def settings(self) -> dict:
        return json.loads((self.path / "run.json").read_text())

    def pixels(self):
        from .pixels import from_list_file

        return from_list_file(self.path / "pixels.csv")

    # ------------------------------------------------------------------ paths
    def result_path(self, pixel_id: str) -> Path:
        return self.path / "results" / f"{pixel_id}.nc"

    def checkpoint_path(self, pixel_id: str) -> Path:
        return self.path / "checkpoints" / f"{pixel_id}.npz"

    def claim_path(self, pixel_id: str) -> Path:
        return self.path / "running" / f"{pixel_id}.json"

    def failure_path(self, pixel_id: str) -> Path:
        return self.path / "failed" / f"{pixel_id}.txt"

    # ------------------------------------------------------------------ claims
    def claim(self, pixel_id: str, stale_after: float = 3600.0, **info) -> bool:
        """Claim a pixel for this process; False if a live claim of another holds it.

        A stale claim (its process gone, or no heartbeat for ``stale_after`` seconds) is taken
        over. Two processes that both run a pixel anyway (a race between two stale-claim takers)
        compute the same chains from the same seed and write the same file.
        """
        path = self.claim_path(pixel_id)
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                  **info}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.claim_is_live(pixel_id, stale_after):
                    return False
                try:  # take the stale claim over: only one taker's rename succeeds
                    taken = path.with_name(f".{path.name}.stale{os.getpid()}")
                    os.replace(path, taken)
                    taken.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(record, fh)
            return True
        return False

    def claim_is_live(self, pixel_id: str, stale_after: float = 3600.0) -> bool:
        path = self.claim_path(pixel_id)
        try:
            age = time.time() - path.stat().st_mtime
            record = json.loads(path.read_text() or "{}")
        except FileNotFoundError:
            return False
        except json.JSONDecodeError:  # being written this instant
            return True
        if record.get("host") == socket.gethostname() and "pid" in record:
            return _pid_alive(int(record["pid"])) and age < stale_after
        return age < stale_after

    def heartbeat(self, pixel_id: str) -> None:
        """Mark a claimed pixel as still running (touch its claim)."""
        try:
            os.utime(self.claim_path(pixel_id))
        except FileNotFoundError:
            pass

    def release(self, pixel_id: str) -> None:
        self.claim_path(pixel_id).unlink(missing_ok=True)

    # ------------------------------------------------------------------ outcomes
    def mark_failed(self, pixel_id: str, message: str) -> None:
        atomic_write_text(self.failure_path(pixel_id), message)

    def clear_failed(self, pixel_id: str) -> None:
        self.failure_path(pixel_id).unlink(missing_ok=True)

    def remove_partial(self, pixel_id: str) -> None:
        """Temporary result files left by a killed writer of this (claimed) pixel."""
        for stale in (self.path / "results").glob(f".{pixel_id}.nc.tmp*"):
            stale.unlink(missing_ok=True)

    # ------------------------------------------------------------------ states
    def _names(self, sub: str, suffix: str) -> set[str]:
        try:
            with os.scandir(self.path / sub) as it:
                return {e.name[: -len(suffix)] for e in it
                        if e.name.endswith(suffix) and not e.name.startswith(".")}
        except FileNotFoundError:
            return set()

    def states(self, pixel_ids=None, stale_after: float = 3600.0) -> dict[str, str]:
        """State of every pixel (of the folder's list, or of ``pixel_ids``), in list order.

        One directory listing per sub-folder, so this stays fast for 10^5 pixels.
        """
        if pixel_ids is None:
            pixel_ids = self.pixels().ids()
        done = self._names("results", ".nc")
        claims = self._names("running", ".json")
        failed = self._names("failed", ".txt")
        checkpoints = self._names("checkpoints", ".npz")
        out = {}
        for pid in pixel_ids:
            if pid in done:
                out[pid] = "done"
            elif pid in claims:
                out[pid] = "running" if self.claim_is_live(pid, stale_after) else "interrupted"
            elif pid in failed:
                out[pid] = "failed"
            elif pid in checkpoints:
                out[pid] = "interrupted"
            else:
                out[pid] = "pending"
        return out

    def counts(self, states: dict[str, str] | None = None) -> dict[str, int]:
        states = self.states() if states is None else states
        return {s: sum(1 for v in states.values() if v == s) for s in STATES}

    def leftovers(self) -> list[Path]:
        """Temporary files anywhere in the folder (none once every writer has finished)."""
        return sorted(p for p in self.path.rglob(".*") if ".tmp" in p.name or ".stale" in p.name)


__all__ = ["RunFolder", "RunFolderError", "STATES", "atomic_write_text"]
