"""``@input_schema`` and ``@output_schema``: record the schemas, convert the inputs.

The wrappers keep the decorated function in ``__wrapped__`` (functools.wraps), so
``inspect.signature(run)`` is the signature of the user's run(): oep-server passes the request
body's keys by those names.
"""

import functools
import inspect

from . import schema_util
from .parameter_types.abstract_parameter_type import AbstractParameterType


def input_schema(param_name, param_type, convert_to_provided_type=True, optional=False):
    """Declares the type of run()'s parameter ``param_name`` by a sample (a parameter type).

    The parameter's schema goes in the function's input schema. With ``convert_to_provided_type``
    (the default) the value the parameter receives (JSON: lists, dicts, numbers, strings) is
    converted to the sample's type before the function runs; a value that does not convert raises
    (azmlinfsrv then answers 500, as for any exception in run()). ``optional`` parameters that are
    missing or empty are left alone.
    """
    _check_parameter_type(param_type, "param_type")
    param_schema = param_type.input_to_swagger()
    versions = param_type.supported_versions()

    def decorate(func):
        schema_util.record_input_schema(func, param_name, param_schema, versions)
        base = schema_util.base_function(func)

        @functools.wraps(func)
        def run_with_converted_input(*args, **kwargs):
            if convert_to_provided_type and not _is_hf_transformers_v2(args):
                args = _convert_argument(base, args, kwargs, param_name, param_type, optional)
            return func(*args, **kwargs)

        return run_with_converted_input

    return decorate


def output_schema(output_type):
    """Declares what the function returns by a sample (a parameter type); nothing is converted."""
    _check_parameter_type(output_type, "output_type")
    schema = output_type.input_to_swagger()
    versions = output_type.supported_versions()

    def decorate(func):
        schema_util.record_output_schema(func, schema, versions)

        @functools.wraps(func)
        def run_unchanged(*args, **kwargs):
            return func(*args, **kwargs)

        return run_unchanged

    return decorate


def _check_parameter_type(value, name):
    if not isinstance(value, AbstractParameterType):
        raise Exception(
            "Error, provided %s must be a subclass of the AbstractParameterType (got %s)." % (name, type(value).__name__)
        )


def _is_hf_transformers_v2(args):
    """Hugging Face text-generation payloads ({"input_string", "parameters"}) pass unconverted, as in inference-schema."""
    return bool(args) and type(args[0]) is dict and set(args[0].keys()) == {"parameters", "input_string"}


def _convert_argument(base, args, kwargs, param_name, param_type, optional):
    """Converts the parameter in place in kwargs, or in args (returned, a new tuple) when passed by position."""
    if param_name in kwargs:
        if optional and not kwargs[param_name]:
            return args
        kwargs[param_name] = convert_input(kwargs[param_name], param_type)
        return args
    if optional:
        return args
    names = inspect.getfullargspec(base).args
    if param_name not in names:
        raise Exception('Error, provided param_name "{}" is not in the decorated function.'.format(param_name))
    position = names.index(param_name)
    if position >= len(args):
        return args  # not given at all: the call itself reports the missing argument
    args = list(args)
    args[position] = convert_input(args[position], param_type)
    return tuple(args)


def convert_input(value, param_type):
    """A JSON value -> the parameter type's Python value, walking into nested dicts and lists."""
    expected = param_type.sample_data_type
    if expected is dict:
        if not isinstance(value, dict):
            raise ValueError("Invalid input data type to parse. Expected: {0} but got {1}".format(expected, type(value)))
        # only the items whose sample is itself a parameter type are converted
        for key, item_type in getattr(param_type, "sample_data_type_map", {}).items():
            if key in value:
                value[key] = convert_input(value[key], item_type)
        return value
    if expected in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError("Invalid input data type to parse. Expected: {0} but got {1}".format(expected, type(value)))
        item_types = getattr(param_type, "sample_data_type_list", [])
        if item_types:
            # every item as the first typed item of the sample (swagger 2 has one item type per array)
            return [convert_input(item, item_types[0]) for item in value]
        return value
    if isinstance(value, expected):
        return value
    return param_type.deserialize_input(value)
