"""``PandasParameterType``: a DataFrame read in the declared orient (``records`` by default; needs pandas)."""

import json
import warnings
from io import StringIO

import pandas as pd

from ._standard_schema import schema_of_dict, schema_of_list
from .abstract_parameter_type import AbstractParameterType

PANDAS_FORMAT = "pandas.DataFrame:{}"
ORIENTS = ("split", "records", "index", "columns", "values", "table")
_LIST_LIKE_ORIENTS = ("records", "values")


class PandasParameterType(AbstractParameterType):
    """Inputs are read with ``pd.read_json(..., orient=orient, dtype=False)``; with ``enforce_column_type``
    the sample's column dtypes are applied, with ``enforce_shape`` the column count must match."""

    def __init__(
        self, sample_input, enforce_column_type=True, enforce_shape=True, apply_column_names=False, orient="records"
    ):
        if not isinstance(sample_input, pd.DataFrame):
            raise Exception("Invalid sample input provided, must provide a sample Pandas Dataframe.")
        super(PandasParameterType, self).__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape
        if apply_column_names:
            warnings.warn(
                "apply_column_names is a deprecated parameter and will be removed in a future update",
                DeprecationWarning,
                stacklevel=2,
            )
        self.apply_column_names = apply_column_names
        if orient not in ORIENTS:
            raise Exception(
                "Invalid orient provided, must be one of ('split', 'records', 'index', 'columns', 'values', or 'table')"
            )
        self.orient = orient

    def deserialize_input(self, input_data):
        if isinstance(input_data, pd.DataFrame):
            return input_data
        if not isinstance(input_data, (list, dict)):
            raise Exception("Error, unable to convert input of type {} into Pandas Dataframe".format(type(input_data)))
        frame = pd.read_json(StringIO(json.dumps(input_data)), orient=self.orient, dtype=False)
        if self.apply_column_names:
            frame.columns = self.sample_input.columns.copy()
        if self.enforce_column_type:
            frame = self._apply_sample_dtypes(frame)
        if self.enforce_shape:
            _check_shape(frame.shape, self.sample_input.shape)
        return frame

    def _apply_sample_dtypes(self, frame):
        sample_types = self.sample_input.dtypes.to_dict()
        types = {column: sample_types.get(column, object) for column in frame.columns}
        for column, column_type in types.items():
            if str(column_type).startswith("timedelta"):
                frame[column] = pd.to_timedelta(frame[column])
        try:
            return frame.astype(dtype=types)
        except TypeError as ex:
            if "Cannot use .astype to convert from timezone-naive dtype to timezone-aware dtype" in str(ex):
                raise Exception(
                    "As of pandas 2.0, can no longer convert from timezone-naive dtype to timezone-aware dtype. "
                    "Please make sure that the provided input data matches the expected timezone handling of the "
                    "provided deployment sample."
                ) from ex
            raise

    def input_to_swagger(self):
        sample = json.loads(self.sample_input.to_json(orient=self.orient, date_format="iso"))
        if self.orient in _LIST_LIKE_ORIENTS:
            schema = schema_of_list(sample)
        else:
            schema = schema_of_dict(sample)
        for column in self.sample_input.columns:
            fmt = _column_format(str(self.sample_input.dtypes[column]))
            if fmt:
                for column_schema in _column_schemas(schema, self.orient, str(column)):
                    column_schema["format"] = fmt
        schema["format"] = PANDAS_FORMAT.format(self.orient)
        return schema


def _column_format(dtype_name):
    if dtype_name.startswith("datetime"):
        return "date-time"
    if dtype_name.startswith("timedelta"):
        return "timedelta"
    return None


def _column_schemas(schema, orient, column):
    """The schemas that describe one column's values in a DataFrame written in ``orient``."""
    if orient == "records":
        return [schema["items"]["properties"][column]]
    if orient == "index":
        return [row["properties"][column] for row in schema["properties"].values()]
    if orient == "columns":
        return list(schema["properties"][column]["properties"].values())
    if orient == "table":
        return [schema["properties"]["data"]["items"]["properties"][column]]
    return []  # split and values carry no per-column schema


def _check_shape(shape, expected):
    if len(shape) != len(expected):
        raise ValueError(
            "Invalid input data frame: a data frame with {0} dimensions is expected; input has {1} [shape {2}]".format(
                len(expected), len(shape), shape
            )
        )
    for dim in range(1, len(expected)):
        if shape[dim] != expected[dim]:
            raise ValueError(
                "Invalid input data frame: data frame has size {0} on dimension #{1}, while expected value is {2}".format(
                    shape[dim], dim, expected[dim]
                )
            )
