#!/usr/bin/env python3
"""The batch worker's entry point, as the daemon's job runner starts it (one process per worker):

    python3 server/oep_batch.py

It runs one batch deployment's scoring script (or oep's driver for an MLflow model without one)
and speaks JSON lines with the runner on its stdin and stdout. The worker itself is the package
oep_batch/ beside this file; docs/batch.md "Worker protocol" is its contract.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from oep_batch.worker import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
