"""What run() returned, as the lines ParallelRunStep appends to the output file (append_row), and
how many of the mini-batch's items it counts as succeeded.

Azure's rules (docs/batch.md "The batch scoring contract"): run() returns a list (or tuple) or a
pandas DataFrame, one element per item processed; a DataFrame is written with
DataFrame.to_csv(sep=" ", header=False, index=False), whose keywords the code folder's
parallel_run_step.settings.json can change ({"append_row": {"pandas.DataFrame.to_csv": {...}}});
a list's elements are written one per line as text. Fewer elements than files means the missing
ones failed.
"""

import json
import os
import types

from .contract import APPEND_ROW_SETTINGS_FILE

DEFAULT_TO_CSV = {"sep": " ", "header": False, "index": False}


class ResultError(Exception):
    """run() returned something that is neither a list nor a DataFrame: the mini-batch failed."""


class SettingsError(Exception):
    """parallel_run_step.settings.json cannot be used: the worker does not start."""


def read_to_csv_settings(code_dir):
    """DataFrame.to_csv's keywords: the defaults, with those of the code folder's settings file."""
    keywords = dict(DEFAULT_TO_CSV)
    if not code_dir:
        return keywords
    path = os.path.join(code_dir, APPEND_ROW_SETTINGS_FILE)
    if not os.path.isfile(path):
        return keywords
    try:
        with open(path, "r", encoding="utf-8") as handle:
            settings = json.load(handle)
    except ValueError as ex:
        raise SettingsError("%s is not valid JSON: %s" % (path, ex))
    except OSError as ex:
        raise SettingsError("%s cannot be read: %s" % (path, ex))
    append_row = settings.get("append_row", {}) if isinstance(settings, dict) else None
    to_csv = append_row.get("pandas.DataFrame.to_csv", {}) if isinstance(append_row, dict) else None
    if not isinstance(to_csv, dict):
        raise SettingsError(
            '%s must be {"append_row": {"pandas.DataFrame.to_csv": {<keyword>: <value>, ...}}}, e.g. {"sep": ","}.'
            % path
        )
    keywords.update(to_csv)
    return keywords


def collect(result):
    """run()'s return value as a list or a DataFrame (a generator, as some samples write run(), is drained)."""
    if isinstance(result, types.GeneratorType):
        return list(result)
    return result


def format_result(result, items, to_csv):
    """(rows, succeeded) for what run() returned for a mini-batch of `items` files."""
    if result is None:
        raise ResultError(
            "run() returned None: it must return a list or a pandas DataFrame with one element per item it "
            "processed (Azure counts the items without one as failed)."
        )
    if _is_dataframe(result):
        return dataframe_rows(result, to_csv), min(len(result), items)
    if isinstance(result, (list, tuple)) or _is_array_or_series(result):
        try:
            values = list(result)
        except TypeError:  # a 0-d numpy array
            raise ResultError("run() returned a single numpy value: it must return a list or a pandas DataFrame.")
        return list_rows(values), min(len(values), items)
    raise ResultError(
        "run() returned a %s: it must return a list or a pandas DataFrame with one element per item it processed."
        % type(result).__name__
    )


def dataframe_rows(frame, to_csv):
    """The frame's lines as to_csv writes them (split at "\\n" only, so appending each with "\\n" rebuilds the text)."""
    text = frame.to_csv(**to_csv)
    if text is None:
        raise ResultError("parallel_run_step.settings.json gives DataFrame.to_csv a path: it must not name one.")
    return _lines(text)


def list_rows(values):
    """One line per element, as text (an element with line breaks makes several lines)."""
    rows = []
    for value in values:
        text = value if isinstance(value, str) else str(value)
        rows.extend(text.split("\n"))
    return rows


def _lines(text):
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return parts


def _is_dataframe(value):
    module = type(value).__module__ or ""
    return module.startswith("pandas") and type(value).__name__ == "DataFrame"


def _is_array_or_series(value):
    module = type(value).__module__ or ""
    return (module.startswith("pandas") and type(value).__name__ == "Series") or (
        module == "numpy" and type(value).__name__ == "ndarray"
    )
