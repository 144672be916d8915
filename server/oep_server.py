#!/usr/bin/env python3
"""oep-server's entry point, where oep's runtimes, images and tests run it:

    python3 server/oep_server.py [--host HOST] [--port PORT]

The server itself is the package oep_server/ beside this file (see its __init__.py).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from oep_server.startup import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
