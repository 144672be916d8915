"""oep's scoring script for MLflow models deployed without one (model.type: mlflow_model and no
code_configuration): what Azure ML generates for such deployments, written for oep.

init() finds the MLflow model under AZUREML_MODEL_DIR (in MLFLOW_MODEL_FOLDER when set, else the
folder holding the MLmodel file) and loads it; run() reads {"input_data": ..., "params": ...},
checks it against the model's signature (400 naming the problem) and answers the prediction as
JSON. oep_swagger_schemas() gives oep-server the swagger input and output schemas from the
signature. See server/README.md.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from oep_mlflow import inputs, loading, mlmodel, outputs, swagger  # noqa: E402
from oep_server.contract import MLFLOW_MODEL_FOLDER_ENV, MODEL_DIR_ENV  # noqa: E402

try:
    from azureml_inference_server_http.api.aml_response import AMLResponse
except ImportError:  # run outside a server that provides it (oep-server puts its shims on sys.path)
    from oep_aml_api import AMLResponse

_model = None
_signature = None
_input_example = None


def init():
    global _model, _signature, _input_example
    model_dir = os.environ.get(MODEL_DIR_ENV)
    try:
        folder = mlmodel.find_model_folder(model_dir, os.environ.get(MLFLOW_MODEL_FOLDER_ENV) or None)
        description = mlmodel.read_mlmodel(folder)
        _signature = mlmodel.read_signature(description, folder)
        _input_example = mlmodel.read_input_example(description, folder)
        _model = loading.load_model(folder, description)
    except mlmodel.ModelError as ex:
        # One clear sentence instead of a traceback through oep's loader.
        raise RuntimeError("MLflow model: %s" % ex) from None
    print("oep-mlflow: loaded the MLflow model in %s %s" % (folder, _model.how))
    if _signature is None or _signature.inputs is None:
        print("oep-mlflow: the model has no input signature: requests are passed to the model unchecked")
    else:
        print("oep-mlflow: input signature: %s" % _signature.inputs.describe())


def run(raw_data):
    try:
        data, params = inputs.parse_request(raw_data, _signature)
        result = _model.predict(data, params)
    except (inputs.InputError, loading.SchemaMismatch) as ex:
        return AMLResponse({"message": str(ex)}, 400, json_str=True)
    return outputs.to_jsonable(result)


def oep_swagger_schemas():
    """(input schema, output schema) for oep-server's generated swagger documents."""
    return swagger.schemas(_signature, _input_example)
