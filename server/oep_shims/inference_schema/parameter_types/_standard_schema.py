"""JSON schemas of standard Python values (and of nested parameter types), as inference-schema writes them."""

import base64
import datetime

from .abstract_parameter_type import AbstractParameterType

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %z"
TIME_FORMAT = "%H:%M:%S.%f %z"


def schema_of_value(value):
    """The schema of one value, with the value as ``example`` (bytes as base64, dates as strings)."""
    kind = type(value)
    if kind is int:
        return {"type": "integer", "format": "int64", "example": value}
    if kind in (bytes, bytearray):
        return {"type": "string", "format": "byte", "example": base64.b64encode(value).decode("utf-8")}
    if kind is str:
        return {"type": "string", "example": value}
    if kind is float:
        return {"type": "number", "format": "double", "example": value}
    if kind is bool:
        return {"type": "boolean", "example": value}
    if kind is datetime.date:
        return {"type": "string", "format": "date", "example": value.strftime(DATE_FORMAT)}
    if kind is datetime.datetime:
        return {"type": "string", "format": "date-time", "example": _in_utc_if_naive(value).strftime(DATETIME_FORMAT)}
    if kind is datetime.time:
        return {"type": "string", "format": "time", "example": _in_utc_if_naive(value).strftime(TIME_FORMAT)}
    if kind in (list, tuple, range):
        return schema_of_list(value)
    if kind is dict:
        return schema_of_dict(value)
    return {"type": "object", "example": value}


def _in_utc_if_naive(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def _schema_of_item(item):
    if isinstance(item, AbstractParameterType):
        return item.input_to_swagger()
    return schema_of_value(item)


def schema_of_list(values):
    """An array: its items' schema is the last item's (inference-schema keeps one), examples all."""
    example = []
    item_schema = {"type": "object"}
    for item in values:
        item_schema = _schema_of_item(item)
        example.append(item_schema.pop("example"))
    return {"type": "array", "items": item_schema, "example": example}


def schema_of_dict(values):
    """An object: every key required, each with its own schema."""
    properties = {}
    example = {}
    for key, item in values.items():
        item_schema = _schema_of_item(item)
        example[key] = item_schema.pop("example")
        properties[key] = item_schema
    return {"type": "object", "required": list(values.keys()), "properties": properties, "example": example}
