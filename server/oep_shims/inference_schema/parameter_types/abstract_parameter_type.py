"""The base of every parameter type: a sample value, its JSON schema, and the conversion of inputs."""

import base64
import datetime
from abc import ABC, abstractmethod


class AbstractParameterType(ABC):
    """Extend it for a custom type: ``deserialize_input`` (JSON value -> object) and ``input_to_swagger``
    (the sample -> a JSON schema with an ``example``)."""

    def __init__(self, sample_input):
        self.sample_input = sample_input
        self.sample_data_type = type(sample_input)

    def supported_versions(self):
        """["2.0", "3.0", "3.1"], without "2.0" when the example has an array of mixed item types."""
        versions = ["3.0", "3.1"]
        if _supports_swagger_2(self.input_to_swagger()["example"]):
            versions.append("2.0")
        return sorted(versions)

    @abstractmethod
    def deserialize_input(self, input_data):
        """Converts a JSON value into the sample's type."""

    @abstractmethod
    def input_to_swagger(self):
        """The JSON schema of the sample, with the sample as ``example``."""

    @classmethod
    def _get_swagger_sample(cls, records, count, item_schema):
        """The first ``count`` records as JSON values, each written as ``item_schema`` says."""
        return [cls._get_data_record_swagger_sample(item_schema, records[i]) for i in range(count)]

    @classmethod
    def _get_data_record_swagger_sample(cls, schema, item):
        """One value of an array (numpy) as JSON, following its schema."""
        kind = schema["type"]
        if kind == "object":
            if "properties" in schema:
                return {
                    field: cls._get_data_record_swagger_sample(field_schema, item[field])
                    for field, field_schema in schema["properties"].items()
                }
            if "additionalProperties" in schema:
                return {field: cls._get_data_record_swagger_sample(schema["additionalProperties"], item[field]) for field in item}
            return str(item)
        if kind == "array":
            return [cls._get_data_record_swagger_sample(schema["items"], element) for element in item]
        if kind == "number":
            return float(item)
        if kind == "integer":
            return int(item)
        if kind == "string" and "format" in schema:
            return cls._formatted_string_sample(schema["format"], item)
        # inference-schema writes booleans (and anything else) as their str(): "True"
        return str(item)

    @classmethod
    def _formatted_string_sample(cls, fmt, item):
        if fmt == "date":
            return item.astype(datetime.datetime).strftime("%Y-%m-%d")
        if fmt == "date-time":
            return _timestamp_to_string(item)
        if fmt == "binary":
            return base64.b64encode(item).decode("utf-8")
        return str(item)


def _timestamp_to_string(item):
    strftime = getattr(item, "strftime", None)
    if strftime is None:
        item = item.astype(datetime.datetime)
    return item.strftime("%Y-%m-%d %H:%M:%S,%f")


def _supports_swagger_2(value):
    """False when some array in the example mixes item types (swagger 2 arrays have one item type).

    Arrays are checked with their nested arrays, objects with their values, as inference-schema does.
    """
    if type(value) is list and value:
        first = type(value[0])
        for item in value:
            if type(item) is not first:
                return False
            if type(item) is list and not _supports_swagger_2(item):
                return False
    elif type(value) is dict:
        return all(_supports_swagger_2(item) for item in value.values())
    return True
