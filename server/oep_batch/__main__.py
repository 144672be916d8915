"""python3 -m oep_batch (with server/ as the working directory or on sys.path)."""

import sys

from .worker import main

sys.exit(main())
