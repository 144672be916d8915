"""The protocol stream: JSON lines with the job runner on the process's own stdin and stdout.

The scoring script must never write into the answers, nor read the requests: whatever it prints
(print(), logging, a C library writing to fd 1, a child process it starts) belongs in the log. So
the worker first takes copies of fd 0 and fd 1 for itself, then points fd 1 at stderr and fd 0 at
/dev/null; the copies are not inherited by child processes (os.dup makes them non-inheritable).
"""

import io
import json
import os
import sys


class Protocol(object):
    """Reads requests from the runner and writes events to it, on the copies of fd 0 and fd 1."""

    def __init__(self, requests_fd, events_fd):
        self._requests_fd = requests_fd
        self._events_fd = events_fd

    @classmethod
    def take_stdio(cls):
        """Keeps fd 0 and fd 1 for the protocol; from here on fd 1 is stderr and fd 0 is empty."""
        _flush_std()
        events_fd = os.dup(1)
        requests_fd = os.dup(0)
        os.dup2(2, 1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        _line_buffer_std()
        return cls(requests_fd, events_fd)

    def send(self, event):
        """One event as one JSON line; the log's pending lines go first, so they precede it."""
        _flush_std()
        data = (json.dumps(event, ensure_ascii=True) + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            written = os.write(self._events_fd, view)
            view = view[written:]

    def requests(self):
        """The request lines as they arrive (bytes, without their end); stops at end of input."""
        pending = b""
        while True:
            chunk = os.read(self._requests_fd, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    yield line
        if pending.strip():
            yield pending


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _line_buffer_std():
    """print() reaches the log line by line (sys.stdout now writes to stderr's file)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            setattr(
                sys,
                name,
                io.TextIOWrapper(
                    io.open(stream.fileno(), "wb", closefd=False),
                    encoding=stream.encoding or "utf-8",
                    errors=stream.errors or "backslashreplace",
                    line_buffering=True,
                ),
            )
        except Exception:
            pass
    # Child processes the script starts should not hold their lines back either.
    os.environ["PYTHONUNBUFFERED"] = "1"
