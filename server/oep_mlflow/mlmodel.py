"""The MLflow model folder: where it is, its MLmodel file and its signature."""

import json
import os

MLMODEL = "MLmodel"
# How deep below the model directory the MLmodel file is looked for (registered models keep the
# last segment of their path, and some uploads wrap the MLflow folder in one more folder).
SEARCH_DEPTH = 4


class ModelError(Exception):
    """The model cannot be served; the message says why and what to do."""


def find_model_folder(model_dir, folder_name=None):
    """The folder holding MLmodel: AZUREML_MODEL_DIR[/MLFLOW_MODEL_FOLDER] itself or the only one below it."""
    if not model_dir:
        raise ModelError("AZUREML_MODEL_DIR is not set: there is no model to serve.")
    base = os.path.join(model_dir, folder_name) if folder_name else model_dir
    if not os.path.isdir(base):
        raise ModelError("The model directory %s does not exist." % base)
    found = []
    # Breadth first, following links (the process runtime links the model into its folder).
    level = [base]
    for _ in range(SEARCH_DEPTH + 1):
        for directory in level:
            if os.path.isfile(os.path.join(directory, MLMODEL)):
                found.append(directory)
        if found:
            break
        next_level = []
        for directory in level:
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            next_level.extend(
                os.path.join(directory, name)
                for name in names
                if not name.startswith(".") and os.path.isdir(os.path.join(directory, name))
            )
        level = next_level
    if not found:
        raise ModelError(
            "No MLflow model under %s: no MLmodel file was found there (model.type mlflow_model needs the folder "
            "that MLflow saved, with its MLmodel file)." % base
        )
    if len(found) > 1:
        raise ModelError(
            "Several MLflow models under %s (%s): set MLFLOW_MODEL_FOLDER in environment_variables to the one to serve."
            % (base, ", ".join(os.path.relpath(path, model_dir) for path in found))
        )
    return found[0]


def read_mlmodel(folder):
    path = os.path.join(folder, MLMODEL)
    with open(path, "r", encoding="utf-8") as handle:
        text = handle.read()
    try:
        import yaml
    except ImportError:
        yaml = None
    try:
        if yaml is not None:
            data = yaml.safe_load(text)
        else:
            from oep_mlflow import mini_yaml

            data = mini_yaml.loads(text)
    except Exception as ex:
        raise ModelError("%s is not valid YAML: %s" % (path, ex))
    if not isinstance(data, dict):
        raise ModelError("%s does not describe an MLflow model (it is not a YAML mapping)." % path)
    return data


class ColumnSpec(object):
    def __init__(self, name, type_, required=True):
        self.name = name
        self.type = type_
        self.required = required

    def describe(self):
        label = "%s (%s)" % (self.name, _type_label(self.type)) if self.name is not None else _type_label(self.type)
        return label if self.required else label + ", optional"


class TensorSpec(object):
    def __init__(self, name, dtype, shape):
        self.name = name
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None

    def describe(self):
        shape = "(%s)" % ", ".join(str(dim) for dim in self.shape) if self.shape is not None else "any shape"
        label = "%s %s" % (self.dtype, shape)
        return "%s: %s" % (self.name, label) if self.name is not None else label


class Schema(object):
    """One side of a signature: columns (a DataFrame) or tensors (numpy arrays)."""

    def __init__(self, specs):
        self.specs = specs
        self.is_tensor = bool(specs) and all(isinstance(spec, TensorSpec) for spec in specs)
        self.has_names = bool(specs) and all(spec.name is not None for spec in specs)

    def names(self):
        return [spec.name for spec in self.specs]

    def describe(self):
        kind = "tensors" if self.is_tensor else "columns"
        return "%s %s" % (kind, ", ".join(spec.describe() for spec in self.specs))


class ParamSpec(object):
    def __init__(self, name, type_, default=None, shape=None):
        self.name = name
        self.type = type_
        self.default = default
        self.shape = shape


class Signature(object):
    def __init__(self, inputs, outputs, params):
        self.inputs = inputs
        self.outputs = outputs
        self.params = params


def read_signature(mlmodel, folder):
    """The model's signature, or None when it has none. Malformed signatures are a ModelError."""
    raw = mlmodel.get("signature")
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise ModelError("The signature in %s is not a mapping." % os.path.join(folder, MLMODEL))
    try:
        inputs = _schema(raw.get("inputs"))
        outputs = _schema(raw.get("outputs"))
        params = _params(raw.get("params"))
    except (ValueError, TypeError, KeyError) as ex:
        raise ModelError("The signature in %s cannot be read: %s" % (os.path.join(folder, MLMODEL), ex))
    if inputs is None and outputs is None:
        return None
    return Signature(inputs, outputs, params)


def _load_json(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return value


def _schema(value):
    entries = _load_json(value)
    if not entries:
        return None
    if not isinstance(entries, list):
        raise ValueError("a schema must be a list of inputs, not %r" % (entries,))
    specs = []
    for entry in entries:
        if entry.get("type") == "tensor":
            tensor = entry["tensor-spec"]
            specs.append(TensorSpec(entry.get("name"), tensor["dtype"], tensor.get("shape")))
        else:
            specs.append(ColumnSpec(entry.get("name"), entry.get("type"), entry.get("required", True) is not False))
    return Schema(specs)


def _params(value):
    entries = _load_json(value)
    if not entries:
        return None
    return [ParamSpec(entry["name"], entry.get("type"), entry.get("default"), entry.get("shape")) for entry in entries]


def _type_label(type_):
    return type_ if isinstance(type_, str) else json.dumps(type_)


def read_input_example(mlmodel, folder):
    """(kind, example) of the saved input example: ('dataframe', split dict) or ('ndarray', inputs), or None."""
    info = mlmodel.get("saved_input_example_info")
    if not isinstance(info, dict) or not info.get("artifact_path"):
        return None
    try:
        with open(os.path.join(folder, info["artifact_path"]), "r", encoding="utf-8") as handle:
            example = json.load(handle)
    except (OSError, ValueError):
        return None
    if info.get("type") == "dataframe" and isinstance(example, dict) and "columns" in example:
        example = dict(example)
        if "data" in example and "index" not in example:
            example["index"] = list(range(len(example["data"])))
        return "dataframe", example
    if info.get("type") == "ndarray" and isinstance(example, dict) and "inputs" in example:
        return "ndarray", example["inputs"]
    return None
