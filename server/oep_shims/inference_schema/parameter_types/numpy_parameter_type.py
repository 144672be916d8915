"""``NumpyParameterType``: an array of the sample's dtype and shape (needs numpy, as the real one does)."""

import numpy as np

from .abstract_parameter_type import AbstractParameterType

NUMPY_FORMAT = "numpy.ndarray"

_SIMPLE_DTYPES = {
    "int8": ("integer", "int8"),
    "int16": ("integer", "int16"),
    "int32": ("integer", "int32"),
    "int64": ("integer", "int64"),
    "uint8": ("integer", "uint8"),
    "uint16": ("integer", "uint16"),
    "uint32": ("integer", "uint32"),
    "uint64": ("integer", "uint64"),
    "bool": ("boolean", None),
    "float16": ("number", "float"),
    "float32": ("number", "float"),
    "float64": ("number", "double"),
    "object": ("object", None),
}

_TIME_UNITS = {
    "years": "Y",
    "months": "M",
    "weeks": "W",
    "days": "D",
    "hours": "h",
    "minutes": "m",
    "seconds": "s",
    "milliseconds": "ms",
    "microseconds": "us",
    "nanoseconds": "ns",
    "picoseconds": "ps",
    "femtoseconds": "fs",
    "attoseconds": "as",
}


class NumpyParameterType(AbstractParameterType):
    """Inputs become ``np.array(value, dtype=sample.dtype)``; with ``enforce_shape`` every dimension but the
    first must match the sample's."""

    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True):
        if not isinstance(sample_input, np.ndarray):
            raise Exception("Invalid sample input provided, must provide a sample Numpy array.")
        super(NumpyParameterType, self).__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape

    def deserialize_input(self, input_data):
        if isinstance(input_data, np.ndarray):
            return input_data
        if not isinstance(input_data, list):
            raise ValueError("Invalid input format: expected an array of items.")
        if self.enforce_column_type:
            dtype = self.sample_input.dtype
            array = np.array([_prepare_item(item, dtype) for item in input_data], dtype=dtype)
        else:
            array = np.array(input_data)
        if self.enforce_shape:
            _check_shape(array.shape, self.sample_input.shape)
        return array

    def input_to_swagger(self):
        shape = self.sample_input.shape
        schema = _array_schema(schema_of_dtype(self.sample_input.dtype), shape)
        schema["example"] = self._get_swagger_sample(self.sample_input, len(self.sample_input), schema["items"])
        schema["format"] = NUMPY_FORMAT
        return schema


def _check_shape(shape, expected):
    if len(shape) != len(expected):
        raise ValueError(
            "Invalid input array: an array with {0} dimensions is expected; input has {1} [shape {2}]".format(
                len(expected), len(shape), shape
            )
        )
    for dim in range(1, len(expected)):
        if shape[dim] != expected[dim]:
            raise ValueError(
                "Invalid input array: array has size {0} on dimension #{1}, while expected value is {2}".format(
                    shape[dim], dim, expected[dim]
                )
            )


def schema_of_dtype(dtype):
    """A dtype's item schema: a scalar type, an array for a sub-array dtype, an object for a structured one."""
    if dtype.names:
        return {"type": "object", "properties": {name: schema_of_dtype(dtype[name]) for name in dtype.names}}
    if dtype.subdtype is not None:
        item_dtype, sub_shape = dtype.subdtype
        return _array_schema(schema_of_dtype(item_dtype), sub_shape)
    return _schema_of_scalar_dtype(dtype)


def _array_schema(item_schema, shape):
    """Nested arrays, one per dimension of ``shape``."""
    schema = {"type": "array", "items": item_schema}
    for _ in range(len(shape) - 1):
        schema = {"type": "array", "items": schema}
    return schema


def _schema_of_scalar_dtype(dtype):
    name = dtype.name.lower()
    if name in _SIMPLE_DTYPES:
        kind, fmt = _SIMPLE_DTYPES[name]
        return {"type": kind, "format": fmt} if fmt else {"type": kind}
    if name.startswith("datetime"):
        return {"type": "string", "format": "date-time"}
    if name.startswith("str"):
        return {"type": "string"}
    if name.startswith("bytes") or name.startswith("void"):
        return {"type": "string", "format": "binary"}
    if name.startswith("timedelta"):
        return {"type": "string", "format": "timedelta"}
    raise TypeError("We currently do not support extracting schema from data of type {}".format(name))


def _prepare_item(item, dtype):
    """A JSON item ready for np.array(..., dtype): records (lists or objects by field name) as tuples,
    date-times as datetime64, "<n> <unit>" strings as timedelta64."""
    if dtype.names:
        fields = []
        for index, name in enumerate(dtype.names):
            value = item[name] if type(item) is dict else item[index]
            fields.append(_prepare_item(value, dtype[index]))
        return tuple(fields)
    name = dtype.name.lower()
    if name.startswith("datetime"):
        return np.datetime64(item)
    if name.startswith("timedelta"):
        return _parse_timedelta(item)
    return item


def _parse_timedelta(text):
    parts = text.split(None, 1)
    if len(parts) != 2:
        raise ValueError(
            "Invalid numpy.timestamp64 value specified: {0}. Format should be <value> <time_unit_code>".format(text)
        )
    unit = parts[1].lower()
    if unit not in _TIME_UNITS:
        raise ValueError("Invalid numpy.timestamp64 value specified: {0}. Unrecognized time unit code".format(text))
    return np.timedelta64(int(parts[0]), _TIME_UNITS[unit])
