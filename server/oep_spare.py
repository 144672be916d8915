#!/usr/bin/env python3
"""A warm interpreter for oep's process runtime: a replica started ahead of time, stopped before
its server runs.

    python3 server/oep_spare.py    (started by the daemon, with the next replica's environment)

It imports oep-server (and so the parts of the standard library the server needs), tells the
daemon its interpreter on stdout as one JSON line, then waits on stdin for one JSON line:

    {"argv": ["--host", "127.0.0.1", "--port", "41234"], "log": "/path/to/replica-0.log"}

and becomes that replica: stdout and stderr go to the log, stdin to /dev/null, and oep-server's
main() runs as `python3 server/oep_server.py ARGV` would. The user's scoring script is imported
only then, in this process, for the first time: a spare never imports user code, so a changed
score.py (and every module it imports) is loaded anew. End of stdin before the line (the daemon
is gone, or discarded the spare) ends it.

The daemon starts a spare with the very command-line environment, working directory and
interpreter the replica would get, so whatever Python reads at start-up (PYTHONPATH, PYTHON*
flags, the locale, LD_LIBRARY_PATH, a pyenv shim's choice) is the same as for a cold start. The
start-up it saves is the interpreter's and oep-server's import (several hundred ms on a busy
machine); src/runtimes/process/spare.ts is the daemon's side.

    python3 /var/azureml-server/oep_spare.py --container    (the docker runtime's warm container)

In a container (src/runtimes/docker/spare-container.ts) the output already goes where a cold
replica's would, the container's own stdout and stderr: it says nothing before it is taken (a
taken container's log is the replica's log from its first line), and the start line carries no
"log". Its stdin is the daemon's attach stream; the daemon gone, the stream ends and so does the
spare.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from oep_server.startup import main  # noqa: E402

SCORING_SERVER = os.path.join(HERE, "oep_server.py")


def announce():
    """One line on stdout: the interpreter that will run the replica (the daemon's failure hints name it)."""
    hello = {"executable": sys.executable, "version": sys.version.split()[0]}
    os.write(1, (json.dumps(hello) + "\n").encode("utf-8"))


def wait_for_start():
    """The start line from the daemon, or None at end of input."""
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return None
    return json.loads(line.decode("utf-8"))


def become_replica(start):
    """Points stdio where a cold start's would be and sets argv as `oep_server.py ARGV` has it."""
    if start.get("log"):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        log = os.open(start["log"], flags, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.argv = [SCORING_SERVER] + [str(arg) for arg in start["argv"]]


if __name__ == "__main__":
    # In a container nothing is said before the start: the container's output is the replica's log.
    if "--container" not in sys.argv[1:]:
        announce()
    start = wait_for_start()
    if start is None:
        sys.exit(0)
    become_replica(start)
    sys.exit(main())
