"""The scoring script of a batch deployment: imported as ParallelRunStep imports it, init() once,
run(mini_batch) per mini-batch, shutdown() (optional) at the end.

The code folder comes first on sys.path and is the working directory (the runner starts the worker
there); the script is imported as a module named after its file; sys.argv carries
--logging_level as Azure passes it, so scripts that read it with argparse's parse_known_args work.
"""

import importlib.util
import logging
import os
import sys

from .contract import LOGGING_LEVEL_ENV

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class LoadError(Exception):
    """The script cannot be used (no run(), not a file, ...): reported as init_failed, no traceback of oep's."""


class UserScript(object):
    """A scoring script's init(), run() and shutdown()."""

    def __init__(self, path):
        self.path = path
        self.module = None

    @property
    def code_dir(self):
        return os.path.dirname(self.path)

    def load(self):
        """Imports the script; LoadError when it is missing or lacks init() or run()."""
        if not os.path.isfile(self.path):
            raise LoadError("The scoring script %s does not exist." % self.path)
        if self.code_dir in sys.path:
            sys.path.remove(self.code_dir)
        sys.path.insert(0, self.code_dir)
        name = os.path.splitext(os.path.basename(self.path))[0]
        spec = importlib.util.spec_from_file_location(name, self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        for function in ("init", "run"):
            if not callable(getattr(module, function, None)):
                raise LoadError(
                    "The scoring script %s does not define %s(): a batch scoring script needs init() and "
                    "run(mini_batch)." % (self.path, function)
                )
        self.module = module

    def init(self):
        self.module.init()

    def run(self, files):
        return self.module.run(files)

    def shutdown(self):
        """Calls shutdown() when the script defines it (it is optional)."""
        shutdown = getattr(self.module, "shutdown", None)
        if callable(shutdown):
            shutdown()


def set_logging(script_path):
    """settings.logging_level as Azure gives it: the root logger's level and --logging_level in sys.argv."""
    level = (os.environ.get(LOGGING_LEVEL_ENV) or "info").strip().lower()
    if level not in LEVELS:
        level = "info"
    logging.basicConfig(
        level=LEVELS[level], stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.argv = [script_path or sys.argv[0], "--logging_level", level.upper()]
