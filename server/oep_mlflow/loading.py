"""Loading an MLflow model: with the mlflow package when the environment has it, otherwise the
scikit-learn flavour read straight from the MLmodel file (pickle or cloudpickle), as mlflow.sklearn
would load it."""

import importlib.util
import inspect
import os
import pickle
import sys

from oep_mlflow.mlmodel import MLMODEL, ModelError

SKLEARN_LOADER = "mlflow.sklearn"
PICKLE = "pickle"
CLOUDPICKLE = "cloudpickle"


class SchemaMismatch(Exception):
    """mlflow refused the input because of the signature (answered 400, like oep's own checks)."""


class LoadedModel(object):
    def __init__(self, predict, accepts_params, how):
        self._predict = predict
        self.accepts_params = accepts_params
        self.how = how

    def predict(self, data, params=None):
        if params is not None and self.accepts_params:
            return self._predict(data, params=params)
        return self._predict(data)


def load_model(folder, mlmodel):
    try:
        import mlflow.pyfunc
    except ImportError as ex:
        if importlib.util.find_spec("mlflow") is not None:
            sys.stderr.write("oep-mlflow: the mlflow package cannot be imported (%s); loading the model without it\n" % ex)
        return _load_without_mlflow(folder, mlmodel)
    return _load_with_mlflow(folder)


def _load_with_mlflow(folder):
    import mlflow
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(folder)
    try:
        accepts_params = "params" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        accepts_params = False

    def predict(data, **kwargs):
        try:
            return model.predict(data, **kwargs)
        except Exception as ex:
            if _is_input_error(ex):
                raise SchemaMismatch(getattr(ex, "message", None) or str(ex))
            raise

    return LoadedModel(predict, accepts_params, "with mlflow %s (mlflow.pyfunc.load_model)" % getattr(mlflow, "__version__", "?"))


def _is_input_error(ex):
    if type(ex).__name__ != "MlflowException":
        return False
    code = getattr(ex, "error_code", "")
    return code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


def _load_without_mlflow(folder, mlmodel):
    flavors = mlmodel.get("flavors") or {}
    if not isinstance(flavors, dict) or not flavors:
        raise ModelError("%s names no flavours, so there is nothing to load." % os.path.join(folder, MLMODEL))
    pyfunc = flavors.get("python_function") if isinstance(flavors.get("python_function"), dict) else None
    sklearn_conf = flavors.get("sklearn") if isinstance(flavors.get("sklearn"), dict) else None
    loader = pyfunc.get("loader_module") if pyfunc else None

    if pyfunc is not None and loader == SKLEARN_LOADER:
        # What mlflow.sklearn._load_pyfunc does: the pickle named by the pyfunc flavour, in the
        # sklearn flavour's serialisation format (pickle when there is no sklearn flavour).
        data = pyfunc.get("model_path") or pyfunc.get("data") or (sklearn_conf or {}).get("pickled_model")
        serialization = (sklearn_conf or {}).get("serialization_format") or PICKLE
        predict_fn = pyfunc.get("predict_fn") or "predict"
        code = pyfunc.get("code") or (sklearn_conf or {}).get("code")
        how = "without mlflow: python_function flavour (loader_module mlflow.sklearn)"
    elif pyfunc is None and sklearn_conf is not None:
        data = sklearn_conf.get("pickled_model")
        serialization = sklearn_conf.get("serialization_format") or PICKLE
        predict_fn = "predict"
        code = sklearn_conf.get("code")
        how = "without mlflow: sklearn flavour"
    else:
        raise ModelError(_needs_mlflow(folder, flavors))
    if not data:
        raise ModelError("%s names no pickled model file for its scikit-learn flavour." % os.path.join(folder, MLMODEL))

    if isinstance(code, str) and code:
        # Code logged with the model (code_paths) is importable, as mlflow makes it.
        code_dir = os.path.join(folder, code)
        if os.path.isdir(code_dir) and code_dir not in sys.path:
            sys.path.insert(0, code_dir)

    model = _unpickle(os.path.join(folder, data), serialization, folder)
    _note_version(sklearn_conf)
    method = getattr(model, predict_fn, None)
    if not callable(method):
        raise ModelError(
            "The model in %s has no %s() method (predict_fn of its python_function flavour)." % (folder, predict_fn)
        )
    # mlflow's scikit-learn wrapper takes params and ignores them.
    return LoadedModel(lambda data, **kwargs: method(data), True, "%s, %s" % (how, serialization))


def _needs_mlflow(folder, flavors):
    parts = []
    for name, conf in flavors.items():
        if name == "python_function" and isinstance(conf, dict) and conf.get("loader_module"):
            parts.append("python_function (loader_module %s)" % conf.get("loader_module"))
        else:
            parts.append(str(name))
    return (
        "The MLflow model in %s has the flavour(s) %s. Without the mlflow package oep loads only scikit-learn "
        "models (python_function with loader_module mlflow.sklearn, or the sklearn flavour), and this environment "
        "(%s) has no mlflow package. Add mlflow (e.g. mlflow-skinny) and the model's own requirements to the "
        "deployment's environment, e.g. environment: {image: ..., conda_file: <model folder>/conda.yaml}."
        % (folder, ", ".join(parts), sys.executable)
    )


def _unpickle(path, serialization, folder):
    if serialization == CLOUDPICKLE:
        try:
            import cloudpickle
        except ImportError:
            raise ModelError(
                "%s was saved with cloudpickle, which is not installed in this environment (%s): add cloudpickle "
                "to the deployment's environment." % (path, sys.executable)
            )
        load = cloudpickle.load
    elif serialization == PICKLE:
        load = pickle.load
    else:
        raise ModelError(
            "%s uses serialization_format %s; without the mlflow package oep reads only pickle and cloudpickle. "
            "Add mlflow to the deployment's environment." % (os.path.join(folder, MLMODEL), serialization)
        )
    try:
        with open(path, "rb") as handle:
            return load(handle)
    except FileNotFoundError:
        raise ModelError("The pickled model %s named in %s does not exist." % (path, os.path.join(folder, MLMODEL)))
    except ModuleNotFoundError as ex:
        missing = ex.name or str(ex)
        package = "scikit-learn" if missing.split(".")[0] == "sklearn" else missing.split(".")[0]
        raise ModelError(
            "Loading %s needs the Python module %s (package %s), which this environment (%s) does not have: "
            "add it to the deployment's environment (the model's conda.yaml / requirements.txt list what it needs)."
            % (path, missing, package, sys.executable)
        )


def _note_version(sklearn_conf):
    wanted = (sklearn_conf or {}).get("sklearn_version")
    if not wanted:
        return
    try:
        import sklearn
    except ImportError:
        return
    if str(wanted) != sklearn.__version__:
        sys.stderr.write(
            "oep-mlflow: the model was saved with scikit-learn %s; this environment has %s\n"
            % (wanted, sklearn.__version__)
        )
