"""The swagger input and output schemas of an MLflow model, from its signature (and its saved
input example when it has one), shaped like those Azure's generated script gets from
inference-schema: `input_data` as a DataFrame in split orientation, a numpy array or named
tensors, and the output as records or an array."""

import copy

TYPE_SCHEMAS = {
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "long": {"type": "integer", "format": "int64"},
    "integer": {"type": "integer", "format": "int32"},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "binary"},
    "datetime": {"type": "string", "format": "date-time"},
}
SAMPLES = {
    "double": 0.0,
    "float": 0.0,
    "long": 0,
    "integer": 0,
    "boolean": False,
    "string": "sample string",
    "binary": "",
    "datetime": "1970-01-01T00:00:00Z",
}
EMPTY = {"type": "object", "example": {}}


def schemas(signature, input_example=None):
    """(input schema, output schema) for the swagger document's ServiceInput / ServiceOutput."""
    inputs = signature.inputs if signature is not None else None
    outputs = signature.outputs if signature is not None else None
    params = signature.params if signature is not None else None

    if inputs is None:
        input_data, example = copy.deepcopy(EMPTY), {}
    elif inputs.is_tensor:
        input_data, example = _tensors_schema(inputs)
    else:
        input_data, example = _frame_schema(inputs)
    if input_example is not None:
        example = input_example[1]
        input_data["example"] = example
    properties = {"input_data": input_data}
    body_example = {"input_data": example}
    if params:
        params_schema, params_example = _params_schema(params)
        properties["params"] = params_schema
        body_example["params"] = params_example
    input_schema = {"type": "object", "required": ["input_data"], "properties": properties, "example": body_example}

    if outputs is None:
        output_schema = copy.deepcopy(EMPTY)
    elif outputs.is_tensor:
        output_schema, _ = _tensors_schema(outputs)
    else:
        output_schema = _records_schema(outputs)
    return input_schema, output_schema


def _value_schema(type_):
    if isinstance(type_, str) and type_ in TYPE_SCHEMAS:
        return dict(TYPE_SCHEMAS[type_])
    return {}


def _sample(type_):
    return SAMPLES.get(type_) if isinstance(type_, str) else None


def _frame_schema(schema):
    names = [spec.name if spec.name is not None else str(position) for position, spec in enumerate(schema.specs)]
    row = [_sample(spec.type) for spec in schema.specs]
    example = {"columns": names, "index": [0], "data": [row]}
    described = "; ".join(spec.describe() for spec in schema.specs)
    return (
        {
            "type": "object",
            "description": "A pandas DataFrame in split orientation with the columns: %s." % described,
            "required": ["columns", "index", "data"],
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}, "example": names},
                "index": {"type": "array", "items": {"type": "integer", "format": "int64"}},
                "data": {
                    "type": "array",
                    "description": "Rows, each with one value per column, in the order of columns.",
                    "items": {"type": "array", "items": {}},
                },
            },
            # Swagger 2 cannot type the values of a row by position: the columns' types are listed here.
            "x-oep-columns": [
                dict(_value_schema(spec.type), name=names[position], required=spec.required)
                for position, spec in enumerate(schema.specs)
            ],
            "format": "pandas.DataFrame:split",
            "example": example,
        },
        example,
    )


def _tensor_schema(spec):
    item = _dtype_schema(spec.dtype)
    shape = list(spec.shape) if spec.shape is not None else [-1]
    schema = item
    sample = 0 if item.get("type") == "integer" else (False if item.get("type") == "boolean" else 0.0)
    if item.get("type") == "string":
        sample = "sample string"
    for dim in reversed(shape):
        schema = {"type": "array", "items": schema}
        if dim not in (-1, None):
            schema["minItems"] = schema["maxItems"] = dim
        sample = [sample] * (dim if dim not in (-1, None) else 1)
    schema["format"] = "numpy.ndarray"
    schema["description"] = "A tensor of %s with shape (%s); -1 is any size." % (
        spec.dtype,
        ", ".join(str(dim) for dim in shape),
    )
    return schema, sample


def _tensors_schema(schema):
    if not schema.has_names:
        one, sample = _tensor_schema(schema.specs[0])
        one["example"] = sample
        return one, sample
    properties = {}
    example = {}
    for spec in schema.specs:
        properties[spec.name], example[spec.name] = _tensor_schema(spec)
    return {"type": "object", "required": schema.names(), "properties": properties, "example": example}, example


def _dtype_schema(dtype):
    name = str(dtype)
    if name.startswith("float"):
        return {"type": "number", "format": "double" if name == "float64" else "float"}
    if name.startswith("int") or name.startswith("uint"):
        return {"type": "integer", "format": "int64" if name.endswith("64") else "int32"}
    if name == "bool":
        return {"type": "boolean"}
    if name in ("str", "object"):
        return {"type": "string"}
    return {}


def _records_schema(schema):
    properties = {}
    sample = {}
    for position, spec in enumerate(schema.specs):
        name = spec.name if spec.name is not None else str(position)
        properties[name] = _value_schema(spec.type)
        sample[name] = _sample(spec.type)
    return {
        "type": "array",
        "items": {"type": "object", "properties": properties},
        "format": "pandas.DataFrame:records",
        "example": [sample],
    }


def _params_schema(params):
    properties = {}
    example = {}
    for param in params:
        schema = _value_schema(param.type)
        if param.shape:
            schema = {"type": "array", "items": schema}
        if param.default is not None:
            schema["default"] = param.default
            example[param.name] = param.default
        else:
            example[param.name] = _sample(param.type)
        properties[param.name] = schema
    return {"type": "object", "properties": properties, "example": example}, example
