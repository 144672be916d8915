"""oep-server: oep's implementation of the Azure ML inference server contract (azmlinfsrv).

    python3 server/oep_server.py [--host HOST] [--port PORT]    (or: python3 -m oep_server, from server/)

Standard library only, Python 3.8+. See server/README.md for the environment variables, the HTTP
behaviour and where oep-server differs from azmlinfsrv.

Process model (pool.py): the parent binds the socket, forks WORKER_COUNT workers and supervises
them. Each worker imports the entry script and calls init() once (script.py), then serves HTTP/1.1
(protocol.py) on its main thread (worker.py): an epoll loop that reads a request, runs run() there
(executor.py), where SIGALRM can interrupt it at SCORING_TIMEOUT_MS (as azmlinfsrv does), and
answers, with no other thread involved. While the main thread stays busy on one request, a standby
thread (standby.py, woken by a timerfd, timer.py) gives the other connections a thread each. The socket only starts listening once the first worker's init() returned,
so nothing answers before an init() completed. With more than one worker, a request that reaches
a busy worker over a kept-alive connection is handed (with its connection) to an idle worker
(handoff.py), so concurrent requests really run concurrently. routes.py answers a parsed request
as azmlinfsrv's blueprint does, swagger.py serves /swagger.json, startup.py ties it together.
"""

import os
import sys

# The modules beside this package (oep_aml_api, oep_monitoring, oep_debug) and oep_shims/ live in
# server/, which is mounted or copied as one folder.
SERVER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SERVER_DIR not in sys.path:
    sys.path.insert(0, SERVER_DIR)

SERVER_VERSION = "0.1.0"
SERVER_ID = "oep-server/" + SERVER_VERSION
SHIMS_DIR = os.path.join(SERVER_DIR, "oep_shims")

# The exit codes the daemon tells apart are in contract.py, with the rest of what src/ relies on.
EXIT_BIND_FAILED = 1
EXIT_STUCK_WORKER = 70  # a worker ends itself when run() is stuck; the parent starts a new one
