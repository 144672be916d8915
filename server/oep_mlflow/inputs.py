"""Requests of Azure's MLflow scoring contract, and their check against the model's signature.

The body is `{"input_data": X, "params": {...}?}`. X as a dict with `columns` and `data` (and
usually `index`) is a pandas DataFrame in split orientation; a list is a numpy array; any other
dict is named tensors (a dict of numpy arrays). With a signature, the input is then checked and
converted the way inference-schema and mlflow do it for Azure's generated script: missing
columns, values that cannot be converted and tensors of the wrong shape are InputErrors (400).
"""

import json


class InputError(Exception):
    """The request does not fit the model: answered 400 with this message."""


NUMERIC_TYPES = {"integer": "int32", "long": "int64", "float": "float32", "double": "float64"}


def parse_request(raw, signature):
    """(model input, params) for a request body, or InputError."""
    body = _parse_body(raw)
    params = body.get("params")
    if params is not None and not isinstance(params, dict):
        raise InputError("params must be a JSON object of parameter names and values.")
    input_data = body["input_data"]
    # Azure's script accepts input_data given as a JSON string, and an input_data nested once more.
    if isinstance(input_data, str):
        try:
            decoded = json.loads(input_data)
        except ValueError:
            decoded = None
        if isinstance(decoded, (dict, list)):
            input_data = decoded
    if isinstance(input_data, dict) and "input_data" in input_data and len(input_data) == 1:
        input_data = input_data["input_data"]
    value = to_model_input(input_data)
    if signature is not None and signature.inputs is not None:
        value = enforce(value, signature.inputs)
    return value, params


def _parse_body(raw):
    if raw is None or not raw.strip():
        raise InputError(
            'POST body is empty. Expecting a JSON dictionary with "input_data", sent as Content-Type: application/json.'
        )
    try:
        body = json.loads(raw)
    except ValueError as ex:
        raise InputError("POST body could not be decoded as JSON: %s" % (ex,))
    if not isinstance(body, dict):
        raise InputError("POST body should be a JSON dictionary.")
    if "input_data" not in body:
        raise InputError("A value is not provided for the 'input_data' parameter.")
    return body


def is_split_frame(value):
    return isinstance(value, dict) and "columns" in value and "data" in value


def to_model_input(input_data):
    """Python objects for the model: DataFrame, ndarray, dict of ndarrays, or the value itself."""
    if is_split_frame(input_data):
        return _split_frame(input_data)
    if isinstance(input_data, list):
        np = _numpy()
        try:
            return np.asarray(input_data)
        except ValueError as ex:
            raise InputError("input_data is a list that is not a regular array: %s" % (ex,))
    if isinstance(input_data, dict):
        np = _numpy()
        tensors = {}
        for name, value in input_data.items():
            try:
                tensors[name] = np.asarray(value)
            except ValueError as ex:
                raise InputError("input_data.%s is not a regular array: %s" % (name, ex))
        return tensors
    return input_data


def _split_frame(frame):
    pd = _pandas("a DataFrame in split orientation (columns, index, data)")
    columns = frame["columns"]
    data = frame["data"]
    index = frame.get("index")
    if not isinstance(columns, list):
        raise InputError("input_data.columns must be a list of column names.")
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise InputError("input_data.data must be a list of rows, each a list of values.")
    for number, row in enumerate(data):
        if len(row) != len(columns):
            raise InputError(
                "input_data.data[%d] has %d values, but input_data.columns names %d columns."
                % (number, len(row), len(columns))
            )
    if index is not None:
        if not isinstance(index, list) or len(index) != len(data):
            raise InputError("input_data.index must be a list with one entry per row of input_data.data (%d)." % len(data))
    extra = sorted(set(frame) - {"columns", "index", "data"})
    if extra:
        raise InputError("input_data has unexpected key(s) %s for a DataFrame in split orientation." % ", ".join(extra))
    if len(set(map(str, columns))) != len(columns):
        raise InputError("input_data.columns names a column more than once.")
    if not data:
        return pd.DataFrame({name: [] for name in columns}, columns=columns)
    return pd.DataFrame(data, columns=columns, index=index)


# --------------------------------------------------------------------------------------------
# checking against the signature
# --------------------------------------------------------------------------------------------


def enforce(value, schema):
    if schema.is_tensor:
        return _enforce_tensors(value, schema)
    return _enforce_columns(value, schema)


def _enforce_columns(value, schema):
    pd = _pandas("the model's column signature (a DataFrame input)")
    np = _numpy()
    specs = schema.specs
    if schema.has_names:
        names = [spec.name for spec in specs]
        required = [spec.name for spec in specs if spec.required]
        if isinstance(value, np.ndarray):
            if len(required) == 1 and value.ndim == 1:
                value = pd.DataFrame({required[0]: value})
            else:
                raise InputError(
                    "input_data is a list, but the model's signature expects named columns (%s): send a DataFrame "
                    'in split orientation, {"input_data": {"columns": [...], "index": [...], "data": [[...]]}}.'
                    % ", ".join(names)
                )
        elif isinstance(value, dict):
            value = _frame_from_dict(pd, value)
        elif not isinstance(value, pd.DataFrame):
            raise InputError(
                "input_data must be a DataFrame in split orientation (columns, index, data) with the columns %s."
                % ", ".join(names)
            )
        present = [str(column) for column in value.columns]
        missing = [name for name in required if name not in present]
        if missing:
            extra = [column for column in present if column not in names]
            message = "Model is missing inputs %s." % (missing,)
            if extra:
                message += " Note that there were extra inputs: %s." % (extra,)
            raise InputError(message)
        value = value.rename(columns=str)
        converted = {}
        for spec in specs:
            if spec.name in value.columns:
                converted[spec.name] = convert_column(spec.name, value[spec.name], spec.type)
        return pd.DataFrame(converted, index=value.index)
    # Unnamed columns: only their number and types can be checked, by position.
    if isinstance(value, np.ndarray):
        value = pd.DataFrame(value if value.ndim == 2 else value.reshape(-1, 1))
    elif isinstance(value, dict):
        value = _frame_from_dict(pd, value)
    elif not isinstance(value, pd.DataFrame):
        raise InputError("input_data must be a list of rows or a DataFrame in split orientation.")
    if value.shape[1] < len(specs):
        raise InputError(
            "Model inference is missing inputs: the signature declares %d inputs but input_data has %d columns."
            % (len(specs), value.shape[1])
        )
    converted = {}
    for position, spec in enumerate(specs):
        column = value.columns[position]
        converted[column] = convert_column(str(column), value[column], spec.type)
    return pd.DataFrame(converted, index=value.index)


def _frame_from_dict(pd, value):
    try:
        return pd.DataFrame({name: (array if array.ndim else [array.item()]) for name, array in value.items()})
    except ValueError as ex:
        raise InputError("input_data cannot be read as columns of one DataFrame: %s" % (ex,))


def convert_column(name, series, type_):
    """The column in the signature's type, or InputError naming the column."""
    np = _numpy()
    pd = _pandas("the model's column signature")
    if not isinstance(type_, str):
        return series  # array / object / map types of newer mlflow: passed as they are
    if type_ in NUMERIC_TYPES:
        target = np.dtype(NUMERIC_TYPES[type_])
        values = series
        if values.dtype.kind == "b" or (values.dtype == object and any(isinstance(v, bool) for v in values)):
            raise _incompatible(name, type_, "boolean values")
        if values.dtype == object:
            try:
                values = pd.to_numeric(values, errors="raise")
            except (ValueError, TypeError):
                bad = next((v for v in series if not _is_number_like(v)), None)
                raise InputError(
                    "Incompatible input types for column %s: expected %s, got %s." % (name, type_, json.dumps(bad, default=str))
                )
        if values.dtype.kind not in "iuf":
            raise _incompatible(name, type_, str(values.dtype))
        if target.kind == "i":
            if values.dtype.kind == "f":
                if values.isna().any():
                    raise InputError(
                        "Incompatible input types for column %s: expected %s, but it has missing values, "
                        "which an integer column cannot hold." % (name, type_)
                    )
                if not (values == values.round()).all():
                    raise InputError(
                        "Incompatible input types for column %s. Can not safely convert %s to %s."
                        % (name, values.dtype, target)
                    )
            info = np.iinfo(target)
            if len(values) and (values.min() < info.min or values.max() > info.max):
                raise InputError("Values of column %s do not fit in %s (%s)." % (name, type_, target))
        return values.astype(target)
    if type_ == "boolean":
        if series.dtype.kind == "b":
            return series
        if series.dtype == object and all(isinstance(v, bool) for v in series):
            return series.astype(bool)
        raise _incompatible(name, type_, str(series.dtype))
    if type_ == "string":
        if series.dtype == object and all(v is None or isinstance(v, str) for v in series):
            return series
        raise _incompatible(name, type_, str(series.dtype))
    if type_ == "datetime":
        try:
            return pd.to_datetime(series, errors="raise")
        except (ValueError, TypeError) as ex:
            raise InputError("Incompatible input types for column %s: expected datetime (%s)." % (name, ex))
    return series  # binary and types this version does not know: passed as they are


def _incompatible(name, type_, got):
    return InputError("Incompatible input types for column %s: expected %s, got %s." % (name, type_, got))


def _is_number_like(value):
    if value is None or isinstance(value, bool):
        return value is None
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _enforce_tensors(value, schema):
    np = _numpy()
    try:
        import pandas as pd
    except ImportError:
        pd = None
    specs = schema.specs
    if pd is not None and isinstance(value, pd.DataFrame):
        if schema.has_names:
            value = {str(column): value[column].to_numpy() for column in value.columns}
        else:
            value = value.to_numpy()
    if schema.has_names:
        if isinstance(value, np.ndarray):
            if len(specs) == 1:
                value = {specs[0].name: value}
            else:
                raise InputError(
                    "input_data is a list, but the model's signature expects named tensors (%s): send "
                    '{"input_data": {"%s": [...], ...}}.' % (", ".join(schema.names()), specs[0].name)
                )
        if not isinstance(value, dict):
            raise InputError("input_data must be an object of named tensors (%s)." % ", ".join(schema.names()))
        missing = [spec.name for spec in specs if spec.name not in value]
        if missing:
            extra = [name for name in value if name not in schema.names()]
            message = "Model is missing inputs %s." % (missing,)
            if extra:
                message += " Note that there were extra inputs: %s." % (extra,)
            raise InputError(message)
        return {spec.name: convert_tensor(spec.name, value[spec.name], spec) for spec in specs}
    spec = specs[0]
    if isinstance(value, dict):
        if len(value) == 1:
            value = next(iter(value.values()))
        else:
            raise InputError("input_data must be a list (one tensor %s), not an object." % spec.describe())
    if not isinstance(value, np.ndarray):
        raise InputError("input_data must be a list (a tensor %s)." % spec.describe())
    return convert_tensor(None, value, spec)


def convert_tensor(name, array, spec):
    np = _numpy()
    label = "input %s" % name if name is not None else "input_data"
    try:
        target = np.dtype(spec.dtype)
    except TypeError:
        return array
    if target.kind in "iuf":
        if array.dtype.kind == "b":
            raise InputError("The dtype of %s is bool, but the model expects %s." % (label, target))
        if array.dtype.kind in "OUS":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                raise InputError("The values of %s cannot be converted to %s." % (label, target))
        if target.kind in "iu" and array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or not np.all(np.mod(array, 1) == 0):
                raise InputError(
                    "The dtype of %s is %s; it can not safely be converted to %s." % (label, array.dtype, target)
                )
    if spec.shape is not None:
        expected = tuple(spec.shape)
        if len(expected) != array.ndim or any(want not in (-1, None) and want != got for want, got in zip(expected, array.shape)):
            raise InputError(
                "Shape of %s %s does not match expected shape %s." % (label, _shape(array.shape), _shape(expected))
            )
    try:
        return array.astype(target, copy=False)
    except (TypeError, ValueError):
        raise InputError("The values of %s cannot be converted to %s." % (label, target))


def _shape(shape):
    return "(%s)" % ", ".join(str(dim) for dim in shape)


def _numpy():
    try:
        import numpy
    except ImportError:
        raise RuntimeError("numpy is not installed in this environment; an MLflow model's input needs it.")
    return numpy


def _pandas(what):
    try:
        import pandas
    except ImportError:
        raise RuntimeError("pandas is not installed in this environment; %s needs it." % what)
    return pandas

