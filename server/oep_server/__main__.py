"""python3 -m oep_server (with server/ as the working directory or on sys.path)."""

import sys

from .startup import main

sys.exit(main())
