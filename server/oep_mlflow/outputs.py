"""The prediction as JSON, as Azure's MLflow scoring script answers it (mlflow's _get_jsonable_obj
with pandas_orient="records"): arrays as lists, DataFrames and Series as records."""

import math


def to_jsonable(value):
    try:
        import numpy as np
    except ImportError:
        np = None
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if np is not None and isinstance(value, np.ndarray):
        return _plain(value.tolist(), np)
    if pd is not None and isinstance(value, pd.DataFrame):
        return _plain(value.to_dict(orient="records"), np)
    if pd is not None and isinstance(value, pd.Series):
        return _plain(pd.DataFrame(value).to_dict(orient="records"), np)
    return _plain(value, np, pd)


def _plain(value, np, pd=None):
    """Nested lists and dicts with numpy scalars (and arrays inside dicts) turned into Python values."""
    if isinstance(value, dict):
        return {_key(key, np): _plain(item, np, pd) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, np, pd) for item in value]
    if np is not None:
        if isinstance(value, np.ndarray):
            return _plain(value.tolist(), np, pd)
        if isinstance(value, np.generic):
            return _plain(value.item(), np, pd)
    if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
        return to_jsonable(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(key, np):
    if np is not None and isinstance(key, np.generic):
        key = key.item()
    return key if isinstance(key, (str, int, float, bool)) or key is None else str(key)
