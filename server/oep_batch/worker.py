"""One batch worker process: start, init(), then a run() per mini-batch the runner sends, until the
end of its input (docs/batch.md "Worker protocol").

    stdin  <- {"mini_batch": 3, "files": ["/abs/a.csv", ...]}
    stdout -> {"event": "ready"} once init() returned, or {"event": "init_failed", "error": ...} (exit 3)
    stdout -> {"event": "done", "mini_batch": 3, "rows": [...], "succeeded": 2}
              or {"event": "failed", "mini_batch": 3, "error": "<traceback>"}

Timeouts are the runner's: it kills a worker whose run() takes too long.
"""

import json
import os
import sys
import traceback

from . import contract
from .mlflow_driver import TO_CSV as MLFLOW_TO_CSV
from .mlflow_driver import FileError, MlflowDriver, ModelLoadError
from .protocol import Protocol
from .rows import ResultError, SettingsError, collect, format_result, read_to_csv_settings
from .script import LoadError, UserScript, set_logging


class StartError(Exception):
    """The worker was started without what it needs (no script and no MLflow model)."""


def main():
    protocol = Protocol.take_stdio()
    _expose_output_dir()
    script_path = os.environ.get(contract.SCRIPT_ENV) or None
    set_logging(script_path)
    try:
        driver, to_csv = _start(script_path)
    except BaseException as ex:
        if isinstance(ex, KeyboardInterrupt):
            raise
        error = _describe(ex)
        sys.stderr.write("oep-batch: the worker did not start:\n%s" % _with_end(error))
        protocol.send({"event": contract.EVENT_INIT_FAILED, "error": error})
        return contract.EXIT_INIT_FAILED
    protocol.send({"event": contract.EVENT_READY})
    for line in protocol.requests():
        protocol.send(_answer(driver, to_csv, line))
    return _shut_down(driver)


def _expose_output_dir():
    """The job's output folder under Azure's name too (AZUREML_BI_OUTPUT_PATH), as the samples read it."""
    output_dir = os.environ.get(contract.OUTPUT_DIR_ENV)
    if output_dir:
        os.environ[contract.OUTPUT_PATH_ENV] = output_dir


def _start(script_path):
    """Loads the script (or the MLflow driver) and calls init(); (driver, to_csv keywords)."""
    if script_path:
        driver = UserScript(script_path)
        driver.load()
        to_csv = read_to_csv_settings(driver.code_dir)
    else:
        model_path = os.environ.get(contract.MLFLOW_MODEL_ENV)
        if not model_path:
            raise StartError(
                "Neither %s (a scoring script) nor %s (an MLflow model) is set: the worker has nothing to run."
                % (contract.SCRIPT_ENV, contract.MLFLOW_MODEL_ENV)
            )
        driver = MlflowDriver(model_path)
        to_csv = dict(MLFLOW_TO_CSV)
    driver.init()
    return driver, to_csv


def _answer(driver, to_csv, line):
    """The event answering one request line."""
    try:
        request = json.loads(line.decode("utf-8"))
        mini_batch = request["mini_batch"]
        files = request["files"]
        if not isinstance(files, list) or not all(isinstance(path, str) for path in files):
            raise ValueError("files must be a list of paths")
    except (ValueError, KeyError, TypeError) as ex:
        return {
            "event": contract.EVENT_FAILED,
            "mini_batch": _mini_batch_of(line),
            "error": "oep-batch: the request %r is not a mini-batch request: %s" % (line[:200], ex),
        }
    try:
        result = collect(driver.run(list(files)))
        rows, succeeded = format_result(result, len(files), to_csv)
    except (Exception, SystemExit) as ex:
        error = str(ex) if isinstance(ex, (ResultError, FileError)) else traceback.format_exc()
        sys.stderr.write("oep-batch: mini-batch %s failed:\n%s" % (mini_batch, _with_end(error)))
        return {"event": contract.EVENT_FAILED, "mini_batch": mini_batch, "error": error}
    return {"event": contract.EVENT_DONE, "mini_batch": mini_batch, "rows": rows, "succeeded": succeeded}


def _shut_down(driver):
    """shutdown() at the end of the input; its failure is logged and ends the worker with 1."""
    try:
        driver.shutdown()
    except (Exception, SystemExit):
        sys.stderr.write("oep-batch: shutdown() raised:\n%s" % traceback.format_exc())
        return contract.EXIT_SHUTDOWN_FAILED
    return contract.EXIT_OK


def _describe(ex):
    """A start failure: oep's own ones as one sentence, the script's with their traceback."""
    if isinstance(ex, (LoadError, SettingsError, StartError, ModelLoadError)):
        return str(ex)
    return traceback.format_exc()


def _mini_batch_of(line):
    try:
        value = json.loads(line.decode("utf-8")).get("mini_batch")
    except Exception:
        return None
    return value if isinstance(value, int) else None


def _with_end(text):
    return text if text.endswith("\n") else text + "\n"
