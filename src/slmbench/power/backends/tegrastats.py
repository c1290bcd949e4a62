"""tegrastats as our own child process, its lines parsed as they arrive.

- The child writes into a pseudo-terminal, not a pipe: a C program's stdout into a pipe is block-buffered,
  which would deliver seconds of lines at once and make their arrival times meaningless.
- Only our own child is stopped (terminate, then kill). `tegrastats --stop` is never run: it stops every
  tegrastats on the board, including other users' and jtop's.
- On Linux the child is told to die with us (PR_SET_PDEATHSIG), so a killed shard leaves no orphan running.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Iterator, List, Optional, Tuple

from ...errors import UserError
from ..parsing import parse_rails
from ..rails import board_total_rails, no_total_reason, read_board_model, total_mw
from .base import BackendUnavailable, PowerBackend, Sample

READ_POLL_S = 0.2  # how often a blocked reader looks at the stop flag


class TegrastatsBackend(PowerBackend):
    name = "tegrastats"

    def __init__(self, settings):
        super().__init__(settings)
        self._exe: Optional[str] = None
        self._proc: Optional[subprocess.Popen] = None
        self._fd: Optional[int] = None
        self._stderr = None
        self.rails_seen: List[str] = []  # every rail name seen, for the error when no total is known
        self.exit_note: Optional[str] = None
        self.rails_error: Optional[str] = None

    def probe(self) -> None:
        path = self.settings.tegrastats_path
        exe = shutil.which(path)
        if exe is None:
            raise BackendUnavailable(
                f"tegrastats not found (power.tegrastats_path is {path!r}, not an executable on PATH); install "
                f"JetPack's tegrastats or set power.tegrastats_path, or use power.backend auto or none"
            )
        self._exe = exe

    def start(self) -> None:
        if self._exe is None:
            self.probe()
        self._stderr = tempfile.TemporaryFile()
        read_fd, write_fd = _terminal_or_pipe()
        try:
            self._proc = subprocess.Popen(
                [self._exe, "--interval", str(int(self.settings.interval_ms))],
                stdin=subprocess.DEVNULL, stdout=write_fd, stderr=self._stderr, close_fds=True,
                preexec_fn=_die_with_parent_fn(),
            )
        except OSError as exc:
            os.close(read_fd)
            raise BackendUnavailable(f"could not start {self._exe} ({exc}); check power.tegrastats_path") from None
        finally:
            os.close(write_fd)
        self._fd = read_fd

    def samples(self, stop: threading.Event) -> Iterator[Sample]:
        model = read_board_model(self.settings.sysfs_root)
        for t, line in self._lines(stop):
            readings = parse_rails(line)
            if not readings:
                continue
            if self.rails is None:
                self.rails_seen = sorted(set(self.rails_seen) | set(readings))
                try:
                    self.rails = board_total_rails(list(readings), model, self.settings.rails)
                except UserError as exc:  # an override rail absent from this line; a later line may have it
                    self.rails_error = str(exc)
                if self.rails is None:
                    continue
            mw = total_mw(readings, self.rails)
            if mw is not None:
                yield Sample(t, mw, {r: readings[r] for r in self.rails})

    def _lines(self, stop: threading.Event) -> Iterator[Tuple[float, str]]:
        """(arrival time, line) for every complete line until stop is set or the child's output ends."""
        pending = b""
        last_t = float("-inf")
        while not stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], READ_POLL_S)
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:  # EIO: the terminal's other end closed (the child exited)
                chunk = b""
            arrived = time.monotonic()
            if not chunk:
                self.exit_note = self._exit_reason()
                return
            *lines, pending = (pending + chunk).split(b"\n")
            pending = pending[-65536:]  # a child that never ends a line must not grow memory
            for t, line in zip(backdate(arrived, len(lines), self.period_s, last_t), lines):
                last_t = t
                yield t, line.rstrip(b"\r").decode("utf-8", errors="replace")

    def _exit_reason(self) -> str:
        try:
            code = self._proc.wait(timeout=5) if self._proc is not None else None
        except subprocess.TimeoutExpired:  # it closed its output but lives on
            return f"tegrastats closed its output{stderr_tail(self._stderr)}"
        return f"tegrastats exited (code {code}){stderr_tail(self._stderr)}"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def describe_failure(self) -> str:
        if self.exit_note:
            return self.exit_note
        if self.rails_error:
            return self.rails_error
        if self.rails_seen and self.rails is None:
            return f"tegrastats lines carry {no_total_reason(self.rails_seen)}"
        return "tegrastats printed no power reading"


def backdate(arrived: float, count: int, period_s: float, last_t: float) -> List[float]:
    """Arrival times for `count` lines read at once: all but the newest were printed a period apart earlier.

    Lines pile up only when this thread was not scheduled for a while; tegrastats printed them on its own
    schedule, so stamping them all with one time would put several readings at one instant.
    """
    stamps = []
    for i in range(count):
        t = max(arrived - (count - 1 - i) * period_s, last_t + 1e-6)
        stamps.append(min(t, arrived))
        last_t = stamps[-1]
    return stamps


def stderr_tail(fh, limit: int = 300) -> str:
    if fh is None:
        return ""
    try:
        fh.seek(0)
        text = fh.read().decode("utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return ""
    return f": {' '.join(text.split())[-limit:]}" if text else ""


def _terminal_or_pipe() -> Tuple[int, int]:
    """(read end, write end): a raw pseudo-terminal (line-buffered child output) where there is one."""
    try:
        import pty
        import tty

        read_fd, write_fd = pty.openpty()
        tty.setraw(write_fd)  # no "\r\n" translation, no echo
        return read_fd, write_fd
    except (ImportError, OSError):
        return os.pipe()


def _die_with_parent_fn():
    """A preexec_fn asking Linux to SIGTERM the child when we die; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
        sigterm = int(signal.SIGTERM)
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, sigterm)  # 1 = PR_SET_PDEATHSIG
