"""stdout and stderr: line-buffered, one write per line, so the lines of several workers never interleave."""

import io
import os
import sys


def setup_stdio():
    """Line-buffered stdout/stderr whatever PYTHONUNBUFFERED says: print() in the scoring script
    reaches the log as soon as its line is complete, and each line is one write, so the lines of
    several workers never interleave mid-line (unbuffered print() writes text and newline apart)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.flush()
            buffered = io.open(stream.fileno(), "wb", closefd=False)
            setattr(
                sys,
                name,
                io.TextIOWrapper(buffered, encoding=stream.encoding, errors=stream.errors, line_buffering=True),
            )
        except Exception:
            try:
                stream.reconfigure(line_buffering=True)
            except Exception:
                pass
    # Child processes started by the scoring script should not buffer either.
    os.environ["PYTHONUNBUFFERED"] = "1"


def _line(stream, message):
    try:
        stream.write(message if message.endswith("\n") else message + "\n")
        stream.flush()
    except Exception:
        pass


def write_err(message):
    _line(sys.stderr, message)


def write_out(message):
    _line(sys.stdout, message)


def flush_all():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
