"""The user's scoring script: finding it, importing it, init(), and how run() wants its input."""

import importlib.util
import inspect
import os
import sys
import traceback
import types

import oep_monitoring

from . import SHIMS_DIR
from .contract import EXIT_INIT_FAILED, LOAD_FAILED_MARK, MODEL_DIR_ENV
from .output import flush_all, write_err, write_out


MODE_JSON = "json"  # run(raw_data: str)
MODE_RAW = "raw"  # @rawhttp run(request)
MODE_OBJECT = "object"  # @input_schema run(**params)
MODEL_TREE_LINES = 200


def walk_path(path, depth=0, indent_space=4):
    """The model directory tree as azmlinfsrv logs it on init() failure."""
    path = os.path.normpath(path)
    basename = os.path.basename(path.rstrip(os.sep)) or path
    indent = " " * depth * indent_space
    if os.path.isdir(path):
        yield "%s%s%s" % (indent, basename, os.sep)
        try:
            children = sorted(os.listdir(path))
        except OSError:
            return
        for child in children:
            for line in walk_path(os.path.join(path, child), depth + 1, indent_space):
                yield line
    else:
        yield "%s%s" % (indent, basename)


def _find_spec(name):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


def _exception_summary(ex):
    if isinstance(ex, SyntaxError) and ex.filename:
        return "%s: %s (%s, line %s)" % (type(ex).__name__, ex.msg, ex.filename, ex.lineno)
    return "".join(traceback.format_exception_only(type(ex), ex)).strip().splitlines()[-1]


class ScriptError(Exception):
    """The entry script cannot be served: import failed, init()/run() missing or unusable."""

    def __init__(self, message, show_traceback=True, trace=None):
        super().__init__(message)
        self.message = message
        self.show_traceback = show_traceback
        # The traceback of the error behind this one (e.g. the SyntaxError), shown instead of ours.
        self.trace = trace


def _prepare_sys_path(cfg):
    # The shims only fill in for packages that are not installed; appended so real ones win.
    need_shims = (
        _find_spec("azureml_inference_server_http") is None
        or _find_spec("azureml.contrib.services.aml_request") is None
        or _find_spec("inference_schema") is None
    )
    for directory in (cfg.app_root, os.path.dirname(cfg.entry_script)):
        if directory and directory not in sys.path:
            sys.path.append(directory)
    if need_shims and SHIMS_DIR not in sys.path:
        sys.path.append(SHIMS_DIR)


def _raw_http_requested():
    """(requested, via_real_package): whether run() was decorated with @rawhttp, and by which module."""
    requested = False
    real = False
    for name in ("azureml_inference_server_http.api.aml_request", "azureml.contrib.services.aml_request"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "_rawHttpRequested", False):
            requested = True
            if not getattr(module, "__oep_shim__", False):
                real = True
    return requested, real


class UserScript(object):
    def __init__(self, cfg):
        self.cfg = cfg
        self.module = None
        self.init_fn = None
        self.run_fn = None
        self.mode = MODE_JSON
        self.param = None
        self.object_params = []
        self.has_request_headers = False
        self.real_raw = False
        self.schema_util = None
        self.decorated = False

    def load(self):
        path = self.cfg.entry_script
        if not os.path.isfile(path):
            if self.cfg.entry_script_env:
                raise ScriptError("entry script %s (AZUREML_ENTRY_SCRIPT) does not exist" % path, False)
            raise ScriptError(
                "no entry script: AZUREML_ENTRY_SCRIPT is not set and %s does not exist" % path, False
            )
        try:
            spec = importlib.util.spec_from_file_location("entry_module", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["entry_module"] = module
            spec.loader.exec_module(module)
        except BaseException as ex:
            sys.modules.pop("entry_module", None)
            # One line that names the error first (a SyntaxError with its file and line), so
            # oep can report the "load" phase with it; the traceback follows.
            write_err("%s %s" % (LOAD_FAILED_MARK, _exception_summary(ex)))
            raise ScriptError("could not import the entry script %s" % path, trace=traceback.format_exc())
        self.module = module

        if not hasattr(module, "init"):
            raise ScriptError("User script at %s does not have a init() function defined." % path, False)
        if not hasattr(module, "run"):
            raise ScriptError("User script at %s does not have a run() function defined." % path, False)

        # Some Azure SDKs generate a driver module that forwards to the real script (azmlinfsrv calls
        # the real run() directly, and the driver's init()).
        run_fn = module.run
        driver = getattr(module, "driver_module", None)
        if isinstance(driver, types.ModuleType) and hasattr(driver, "run"):
            run_fn = driver.run
        self.run_fn = run_fn
        self.init_fn = module.init
        self._analyze_run()

    def _analyze_run(self):
        try:
            params = list(inspect.signature(self.run_fn).parameters.values())
        except (TypeError, ValueError):
            raise ScriptError("cannot inspect the signature of run()")
        allowed = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if any(param.kind not in allowed for param in params):
            raise ScriptError("run() cannot accept positional-only arguments, *args, or **kwargs.", False)
        self.has_request_headers = any(param.name == "request_headers" for param in params)
        params = [param for param in params if param.name != "request_headers"]
        if not params:
            if self.has_request_headers:
                raise ScriptError('run() needs to accept an argument other than "request_headers".', False)
            raise ScriptError("run() needs to accept an argument for input data.", False)

        if "inference_schema" in sys.modules:
            try:
                import inference_schema.schema_util as schema_util

                self.schema_util = schema_util
                self.decorated = bool(schema_util.is_schema_decorated(self.run_fn))
            except Exception:
                self.schema_util = None
                self.decorated = False

        raw, real = _raw_http_requested()
        if raw and self.decorated:
            raise ScriptError("run() cannot be decorated with both @rawhttp and @input_schema", False)
        if raw:
            self.mode = MODE_RAW
            self.param = params[0].name
            self.real_raw = real
        elif self.decorated:
            self.mode = MODE_OBJECT
            self.object_params = params
        else:
            self.mode = MODE_JSON
            self.param = params[0].name

    def describe(self):
        if self.mode == MODE_RAW:
            return "run() is decorated with @rawhttp: it receives the raw request"
        if self.mode == MODE_OBJECT:
            return "run() is decorated with @input_schema: it receives %s" % ", ".join(p.name for p in self.object_params)
        return "run() receives the request body as a string"


def _print_model_tree(model_dir):
    if not model_dir:
        write_err("%s is not set: no model directory to list." % MODEL_DIR_ENV)
        return
    if not os.path.exists(model_dir):
        write_err("Model directory %s does not exist." % model_dir)
        return
    write_err("Model Directory Contents:")
    tree = walk_path(model_dir)
    count = 0
    for line in tree:
        if count >= MODEL_TREE_LINES:
            write_err("Output Truncated. First %d lines shown." % MODEL_TREE_LINES)
            break
        write_err(line)
        count += 1


def load_and_init(cfg):
    """Import the entry script and call init() once. On failure: log, then exit with code 3."""
    _prepare_sys_path(cfg)
    # azureml.ai.monitoring for scripts that collect data (data_collector), before they import it
    collecting = oep_monitoring.install(_find_spec)
    if collecting:
        write_out(collecting)
    script = UserScript(cfg)
    try:
        script.load()
    except ScriptError as ex:
        write_err("oep-server: init() failed: %s" % ex.message)
        if ex.show_traceback:
            write_err(ex.trace or traceback.format_exc())
        _print_model_tree(cfg.model_dir)
        flush_all()
        os._exit(EXIT_INIT_FAILED)
    try:
        script.init_fn()
    except BaseException:
        write_err("oep-server: init() failed")
        write_err(traceback.format_exc())
        _print_model_tree(cfg.model_dir)
        flush_all()
        os._exit(EXIT_INIT_FAILED)
    return script
