"""oep's azureml.ai.monitoring: the data collector's custom logging, written to local files.

Scoring scripts use Azure's `azureml-ai-monitoring` package as documented:

    from azureml.ai.monitoring import Collector
    from azureml.ai.monitoring.context import BasicCorrelationContext

    inputs_collector = Collector(name="model_inputs")
    context = inputs_collector.collect(input_df)
    outputs_collector.collect(output_df, context)

Azure's package sends each DataFrame to the data-collector sidecar of a managed deployment, which
does not exist on a laptop. oep serves this module instead (registered in sys.modules by
`install()`): always when the deployment's data_collector enables a custom collection (the real
package would have nowhere to send), and otherwise only when the real package is absent (so the
import still works). It behaves like the real package (same classes, same errors, same event
shape) and appends each event as one JSON line to

    $OEP_DATA_COLLECTOR_DIR/<collection>/<yyyy>/<MM>/<dd>/<HH>/<host>-<pid>.jsonl

(the time folders follow rolling_rate). The correlation id of a context made by `collect()` is the
request's x-request-id, which oep's router sets and also writes into its `request`/`response`
payload events: inputs, outputs and payloads of one request share one id.

Standard library only, Python 3.8+.
"""

import json
import os
import random
import socket
import sys
import time
import types
import uuid

from oep_server.contract import DATA_COLLECTOR_DIR_ENV, DATA_COLLECTOR_SETTINGS_ENV, SAMPLE_HEADER

__oep_shim__ = True

AGENT = "oep-monitoring/0.1.0"
ROLLING_DEPTH = {"year": 1, "month": 2, "day": 3, "hour": 4, "minute": 5}
HINT = " (oep: enable it in the deployment YAML under data_collector.collections.%s.enabled: true)"

# The settings when this replica collects: {"dir", "collections", "sampling_rate", "rolling_rate", "source"}.
_settings = None
# The request run() is serving (run() calls are one at a time per worker process), or None.
_current = None


# --------------------------------------------------------------------------------------------
# azureml.ai.monitoring.context
# --------------------------------------------------------------------------------------------


class CorrelationContext(object):
    def __init__(self):
        pass

    @staticmethod
    def get_id():
        return ""

    def __str__(self):
        return self.get_id()

    def __repr__(self):
        return self.__str__()


class BasicCorrelationContext(CorrelationContext):
    def __init__(self, id=None, timestamp=None, headers=None):  # noqa: A002 (Azure's parameter name)
        super(BasicCorrelationContext, self).__init__()
        self.id = id if id else str(uuid.uuid4())
        self.timestamp = timestamp if timestamp else int(time.time())
        self.headers = headers if headers else {}

    def get_id(self):
        return self.id

    def get_timestamp(self):
        return self.timestamp

    def get_headers(self):
        return self.headers


class WrapperContext(CorrelationContext):
    """What collect() returns: the context it used, and whether the data was collected."""

    def __init__(self, correlation_context, success, message):
        super(WrapperContext, self).__init__()
        self._context = correlation_context
        self._success = success
        self._message = message

    def get_id(self):
        return self._context.get_id()

    def get_timestamp(self):
        return self._context.get_timestamp()

    def get_headers(self):
        return self._context.get_headers()

    def is_success(self):
        return self._success

    def get_message(self):
        return self._message


def get_context():
    """A context for the request being served: its id is the request's x-request-id."""
    current = _current
    if current is not None:
        return BasicCorrelationContext(id=current.request_id)
    return BasicCorrelationContext()


def get_context_wrapper(context, success, message):
    return WrapperContext(context, success, message)


# --------------------------------------------------------------------------------------------
# azureml.ai.monitoring.Collector
# --------------------------------------------------------------------------------------------


def _raise(error):
    raise error


class Collector(object):
    """Azure's Collector: `collect(data, correlation_context=None)` logs a pandas DataFrame."""

    def __init__(self, *, name, on_error=None, **kwargs):
        self.name = name
        self.on_error = on_error if on_error else _raise
        self._validate()

    def _validate(self):
        """(ok, message). Azure's package calls on_error (default: raise) when it cannot collect."""
        message = None
        if not self.name:
            message = "collection name is not provided"
        elif _settings is None or not _settings["collections"]:
            message = "custom logging is not enabled, drop the data" + HINT % self.name
        elif self.name not in _settings["collections"]:
            message = "collection %s is not enabled, drop the data" % self.name + HINT % self.name
        if message is None:
            return True, None
        self.on_error(Exception(message))
        return False, message

    def collect(self, data, correlation_context=None):
        if correlation_context is None:
            correlation_context = get_context()
        ok, message = self._validate()
        if not ok:
            return WrapperContext(correlation_context, False, message)
        if not _in_sample():
            return WrapperContext(correlation_context, False, "dropped_sampling")
        try:
            records, data_type = _frame_records(data)
        except TypeError as ex:
            self.on_error(ex)
            return WrapperContext(correlation_context, False, ex.args[0])
        try:
            _append(self.name, _event(self.name, records, data_type, correlation_context))
        except Exception as ex:  # a full disk or a read-only folder must not look like success
            self.on_error(ex)
            return WrapperContext(correlation_context, False, str(ex))
        return WrapperContext(correlation_context, True, "")


def _frame_records(data):
    """The DataFrame's rows as JSON values. Azure's package logs pandas DataFrames only."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(data, pandas.DataFrame):
        return json.loads(data.to_json(orient="records", date_format="iso")), "pandas.core.frame.DataFrame"
    raise TypeError("data type (%s) not supported, supported types: pandas.DataFrame" % type(data).__name__)


def _event(collection, records, data_type, context):
    payload = json.dumps(records, separators=(",", ":"))
    size = len(payload.encode("utf-8"))
    correlation_id = context.get_id()
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": _settings["source"],
        "type": "azureml.inference.%s" % collection,
        "datacontenttype": "application/json",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": records,
        "correlationid": correlation_id,
        "xrequestid": correlation_id,
        "modelversion": "default",
        "collectdatatype": data_type,
        "agent": AGENT,
        "contentrange": "bytes 0-%d/%d" % (size - 1, size) if size else "bytes */0",
    }


def _in_sample():
    """One decision per request, shared by all collections: the router's when it sent one."""
    current = _current
    if current is not None:
        if current.sampled is None:
            current.sampled = _draw()
        return current.sampled
    return _draw()


def _draw():
    rate = _settings["sampling_rate"]
    return rate >= 1 or random.random() < rate


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

_files = {}  # collection -> (path, fd)
_instance = "%s-%d" % (socket.gethostname(), os.getpid())


def _append(collection, event):
    global _instance
    line = (json.dumps(event, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    parts = time.strftime("%Y/%m/%d/%H/%M", time.gmtime()).split("/")
    rolled = "/".join(parts[: ROLLING_DEPTH.get(_settings["rolling_rate"], 4)])
    instance = "%s-%d" % (socket.gethostname(), os.getpid())
    if instance != _instance:
        # forked into a new worker: files opened by the parent are not this process's
        _instance = instance
        _files.clear()
    path = os.path.join(_settings["dir"], collection, rolled, instance + ".jsonl")
    entry = _files.get(collection)
    if entry is None or entry[0] != path:
        if entry is not None:
            os.close(entry[1])
        _makedirs(os.path.dirname(path))
        # Private to the user whatever the umask, as everything under OEP_HOME.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _give_to_owner(path)
        entry = _files[collection] = (path, fd)
    # One write per line with O_APPEND: lines of concurrent writers never interleave.
    os.write(entry[1], line)


def _makedirs(path):
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        _give_to_owner(directory)


def _give_to_owner(path):
    """In a container running as root, files go to the owner of the mounted folder (the user who
    runs oep), so that user can read and delete them."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        owner = os.stat(_settings["dir"])
        if owner.st_uid != 0:
            os.chown(path, owner.st_uid, owner.st_gid)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# wiring (called by oep_server.py)
# --------------------------------------------------------------------------------------------


class _Request(object):
    __slots__ = ("request_id", "sampled")

    def __init__(self, request_id, sampled):
        self.request_id = request_id
        self.sampled = sampled


def load_settings(environ=None):
    """The settings from the environment the runtime set, or None when this replica collects nothing."""
    environ = os.environ if environ is None else environ
    directory = environ.get(DATA_COLLECTOR_DIR_ENV)
    if not directory:
        return None
    try:
        raw = json.loads(environ.get(DATA_COLLECTOR_SETTINGS_ENV) or "{}")
    except ValueError:
        raw = {}
    return {
        "dir": directory,
        "collections": [str(name) for name in raw.get("collections", [])],
        "sampling_rate": float(raw.get("sampling_rate", 1.0)),
        "rolling_rate": str(raw.get("rolling_rate", "hour")).lower(),
        "source": str(raw.get("source", "")),
    }


def install(find_spec):
    """Registers this module as azureml.ai.monitoring (and .context) when the replica collects
    data, or when the real package is not installed. Returns a line for the server's log, or None."""
    global _settings
    _settings = load_settings()
    if _settings is None and find_spec("azureml.ai.monitoring") is not None:
        return None
    azureml = _package("azureml")
    ai = _package("azureml.ai")
    monitoring = types.ModuleType("azureml.ai.monitoring")
    monitoring.__path__ = []
    monitoring.__oep_shim__ = True
    monitoring.Collector = Collector
    context = types.ModuleType("azureml.ai.monitoring.context")
    context.__oep_shim__ = True
    for name in ("CorrelationContext", "BasicCorrelationContext", "WrapperContext", "get_context", "get_context_wrapper"):
        setattr(context, name, globals()[name])
    monitoring.context = context
    monitoring.CorrelationContext = CorrelationContext
    monitoring.BasicCorrelationContext = BasicCorrelationContext
    sys.modules["azureml.ai.monitoring"] = monitoring
    sys.modules["azureml.ai.monitoring.context"] = context
    ai.monitoring = monitoring
    azureml.ai = ai
    if _settings is None:
        return None
    return "oep-server: data collection: %s -> %s (sampling_rate %s, rolling_rate %s)" % (
        ", ".join(_settings["collections"]) or "no custom collection",
        _settings["dir"],
        _settings["sampling_rate"],
        _settings["rolling_rate"],
    )


def _package(name):
    module = sys.modules.get(name)
    if module is not None:
        return module
    try:
        __import__(name)
        return sys.modules[name]
    except ImportError:
        module = types.ModuleType(name)
        module.__path__ = []
        sys.modules[name] = module
        return module


def bind(fn, hmap):
    """run() with this request made current for the collectors (fn itself when nothing is collected)."""
    if _settings is None:
        return fn
    decision = hmap.get(SAMPLE_HEADER)
    request = _Request(hmap.get("x-request-id") or str(uuid.uuid4()), None if decision is None else decision == "1")

    def run_with_request(**kwargs):
        global _current
        _current = request
        try:
            return fn(**kwargs)
        finally:
            _current = None

    return run_with_request
