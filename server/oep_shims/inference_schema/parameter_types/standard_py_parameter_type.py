"""``StandardPythonParameterType``: str, int, float, bool, bytes, dates, and lists and dicts of them
(whose items may themselves be parameter types, converted in turn)."""

import base64
import datetime
import json

from ._standard_schema import DATE_FORMAT, DATETIME_FORMAT, schema_of_value
from .abstract_parameter_type import AbstractParameterType

NOT_JSON_SERIALISABLE = (
    "Invalid python data sample provided: ensure that the data is fully JSON serializable to be able to generate "
    "swagger schema from it. Actual error: {}"
)


class StandardPythonParameterType(AbstractParameterType):
    def __init__(self, sample_input):
        super(StandardPythonParameterType, self).__init__(sample_input)
        # the items that are parameter types: converted when the input is (see schema_decorators)
        self.sample_data_type_map = {}
        self.sample_data_type_list = []
        if self.sample_data_type is dict:
            for key, value in sample_input.items():
                if isinstance(value, AbstractParameterType):
                    self.sample_data_type_map[key] = value
        elif self.sample_data_type in (list, tuple):
            for value in sample_input:
                if isinstance(value, AbstractParameterType):
                    self.sample_data_type_list.append(value)

    def deserialize_input(self, input_data):
        """Dates, times and bytes from their JSON strings; other values must already have the sample's type
        (an int is taken for a float)."""
        expected = self.sample_data_type
        if expected is datetime.date:
            input_data = datetime.datetime.strptime(input_data, DATE_FORMAT).date()
        elif expected is datetime.datetime:
            input_data = _parse_datetime(input_data)
        elif expected is datetime.time:
            input_data = _parse_datetime(input_data).timetz()
        elif expected in (bytes, bytearray):
            input_data = expected(base64.b64decode(input_data.encode("utf-8")))

        if expected is float and type(input_data) is int:
            return input_data
        if not isinstance(input_data, expected):
            raise ValueError(
                "Invalid input data type to parse. Expected: {0} but got {1}".format(expected, type(input_data))
            )
        return input_data

    def input_to_swagger(self):
        if self.sample_input is None:
            raise ValueError("Sample input cannot be None")
        schema = schema_of_value(self.sample_input)
        try:
            json.dumps(schema)
        except TypeError as ex:
            raise TypeError(NOT_JSON_SERIALISABLE.format(ex))
        return schema


def _parse_datetime(text):
    """ISO 8601 and the samples' own format; python-dateutil's parser (which inference-schema uses) when installed."""
    try:
        from dateutil import parser
    except ImportError:
        parser = None
    if parser is not None:
        return parser.parse(text)
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in (DATETIME_FORMAT, "%H:%M:%S.%f %z", "%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError("Invalid date-time value: %r" % (text,))
