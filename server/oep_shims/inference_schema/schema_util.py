"""The schemas and swagger versions the decorators recorded, per function (what azmlinfsrv reads).

azmlinfsrv calls ``is_schema_decorated``, ``get_input_schema``, ``get_output_schema`` and
``get_supported_versions`` with the module's run(); a function is known by its module and name
(``entry_module.run``), whatever decorators wrap it.
"""

import copy
import inspect

INPUT_SCHEMA_ATTR = "input_schema"
OUTPUT_SCHEMA_ATTR = "output_schema"
ALL_SUPPORTED_VERSIONS = ["2.0", "3.0", "3.1"]

# "module.function" -> {"input_schema": schema, "output_schema": schema}
_functions_schema = {}
# "module.function" -> {"input_schema": [versions], "output_schema": [versions]}
_versions = {}


def base_function(func):
    """The function under every decorator (each keeps it in ``__wrapped__``, as functools.wraps does)."""
    seen = set()
    while hasattr(func, "__wrapped__") and id(func) not in seen:
        seen.add(id(func))
        func = func.__wrapped__
    return func


def function_key(func):
    base = base_function(func)
    return "%s.%s" % (getattr(base, "__module__", "<unknown>"), getattr(base, "__name__", "<unknown>"))


def get_input_schema(func):
    """The ServiceInput schema of a decorated function; ``{"type": "object"}`` for another."""
    return _functions_schema.get(function_key(func), {}).get(INPUT_SCHEMA_ATTR, {"type": "object"})


def get_output_schema(func):
    """The ServiceOutput schema of a decorated function; ``{"type": "object"}`` for another."""
    return _functions_schema.get(function_key(func), {}).get(OUTPUT_SCHEMA_ATTR, {"type": "object"})


def get_supported_versions(func):
    """The swagger versions both the input and the output schemas can be written in (sorted).

    Swagger 2.0 has no arrays of mixed item types, so a sample with one supports only 3.0 and 3.1.
    """
    recorded = _versions.get(function_key(func), {})
    input_versions = recorded.get(INPUT_SCHEMA_ATTR)
    output_versions = recorded.get(OUTPUT_SCHEMA_ATTR)
    if input_versions and output_versions:
        versions = set(input_versions) & set(output_versions)
    elif input_versions or output_versions:
        versions = set(input_versions or output_versions)
    else:
        versions = ALL_SUPPORTED_VERSIONS
    return sorted(versions)


def get_schemas_dict():
    """A copy of every recorded schema, by function."""
    return copy.deepcopy(_functions_schema)


def is_schema_decorated(func):
    return function_key(func) in _functions_schema


def record_input_schema(func, param_name, param_schema, versions):
    """Adds one parameter to the function's input schema.

    The first @input_schema applied lists every argument of the function with an empty schema and
    an empty-string example; each one then fills in its parameter (the example moves from the
    parameter's schema to the object's). The versions are those of the last @input_schema applied
    (the topmost one), as in inference-schema, which keeps only those.
    """
    key = function_key(func)
    entry = _functions_schema.setdefault(key, {})
    schema = entry.get(INPUT_SCHEMA_ATTR)
    if schema is None:
        schema = {"type": "object", "properties": {}, "example": {}}
        for name in _argument_names(func):
            schema["properties"][name] = {}
            schema["example"][name] = ""
        entry[INPUT_SCHEMA_ATTR] = schema
    item = copy.deepcopy(param_schema)
    schema["example"][param_name] = item.pop("example", None)
    schema["properties"][param_name] = item
    _versions.setdefault(key, {})[INPUT_SCHEMA_ATTR] = list(versions)


def record_output_schema(func, output_schema, versions):
    key = function_key(func)
    entry = _functions_schema.setdefault(key, {})
    if OUTPUT_SCHEMA_ATTR in entry:
        raise Exception("Error, output schema already defined for function: {}.".format(key))
    entry[OUTPUT_SCHEMA_ATTR] = output_schema
    _versions.setdefault(key, {})[OUTPUT_SCHEMA_ATTR] = list(versions)


def _argument_names(func):
    """The positional argument names of the function under the decorators (``request_headers`` too)."""
    try:
        return inspect.getfullargspec(base_function(func)).args
    except TypeError:
        return []
