"""oep's driver for an MLflow model deployed to a batch endpoint without a scoring script: what
Azure ML generates for such deployments (docs/batch.md, "MLflow models without a scoring script").

init() finds and loads the model as the online MLflow script does (oep_mlflow: with the mlflow
package when it is installed, else the scikit-learn flavour from the MLmodel file). run(files)
reads each file (.csv; .parquet and .pqt with pyarrow or fastparquet), checks and converts its
columns against the model's signature, calls predict() once per file and returns a DataFrame with
the columns row (the row's index in its file), prediction and file_name, which the worker writes
comma-separated. A file that cannot be read or scored fails the whole mini-batch, naming the file.
"""

import os
import sys

from oep_mlflow import inputs, loading, mlmodel

CSV = (".csv",)
PARQUET = (".parquet", ".pqt")
# How the worker writes this driver's DataFrame: comma-separated, no header, no index.
TO_CSV = {"sep": ",", "header": False, "index": False}


class FileError(Exception):
    """A file of the mini-batch cannot be read or scored; the message names it."""


class ModelLoadError(RuntimeError):
    """The model cannot be loaded (init() fails); the message says why and what to do."""


class MlflowDriver(object):
    """init(), run() and shutdown() for an MLflow model, like a scoring script's."""

    def __init__(self, model_path):
        self.model_path = model_path
        self.model = None
        self.signature = None
        self.folder = None

    def load(self):
        """Nothing to import: the model is loaded by init()."""

    def init(self):
        try:
            _pandas()
        except FileError as ex:
            raise ModelLoadError(str(ex)) from None
        try:
            self.folder = mlmodel.find_model_folder(self.model_path)
            description = mlmodel.read_mlmodel(self.folder)
            self.signature = mlmodel.read_signature(description, self.folder)
            self.model = loading.load_model(self.folder, description)
        except mlmodel.ModelError as ex:
            raise ModelLoadError("MLflow model: %s" % ex) from None
        print("oep-batch: loaded the MLflow model in %s %s" % (self.folder, self.model.how))
        if self.signature is None or self.signature.inputs is None:
            print("oep-batch: the model has no input signature: column types are not enforced")
        else:
            print("oep-batch: input signature: %s" % self.signature.inputs.describe())

    def run(self, files):
        pd = _pandas()
        frames = [self._score(pd, path) for path in files]
        if not frames:
            return pd.DataFrame({"row": [], "prediction": [], "file_name": []})
        return pd.concat(frames, ignore_index=True)

    def shutdown(self):
        """Nothing to release."""

    def _score(self, pd, path):
        data = read_file(pd, path)
        if self.signature is not None and self.signature.inputs is not None:
            try:
                data = inputs.enforce(data, self.signature.inputs)
            except inputs.InputError as ex:
                raise FileError("Error processing input file: '%s'. Exception: %s" % (path, ex))
        try:
            prediction = self.model.predict(data)
        except loading.SchemaMismatch as ex:
            raise FileError("Error processing input file: '%s'. Exception: %s" % (path, ex))
        values = prediction_values(pd, prediction)
        if len(values) != len(data):
            raise FileError(
                "The model's prediction for '%s' has %d values for %d rows." % (path, len(values), len(data))
            )
        return pd.DataFrame(
            {"row": list(range(len(values))), "prediction": values, "file_name": os.path.basename(path)}
        )


def read_file(pd, path):
    """The file as a DataFrame, by its extension, as Azure's driver reads it."""
    extension = os.path.splitext(path)[1].lower()
    try:
        if extension in CSV:
            return pd.read_csv(path)
        if extension in PARQUET:
            _need_parquet_engine(path)
            return pd.read_parquet(path)
    except FileError:
        raise
    except Exception as ex:
        raise FileError("Error processing input file: '%s'. Exception: %s" % (path, ex))
    raise FileError(
        "Error processing input file: '%s'. File type '%s' is not supported: an MLflow model without a scoring "
        "script reads .csv, .parquet and .pqt files here; add a scoring script (code_configuration) for others."
        % (path, extension.lstrip(".") or "(none)")
    )


def prediction_values(pd, prediction):
    """One value per row: a column of the prediction, or the row's values as a list when there are several."""
    import numpy as np  # installed with pandas

    if isinstance(prediction, pd.DataFrame):
        if prediction.shape[1] == 1:
            return prediction.iloc[:, 0].tolist()
        return [list(row) for row in prediction.itertuples(index=False)]
    if isinstance(prediction, pd.Series):
        return prediction.tolist()
    array = np.asarray(prediction)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 1:
        return array.tolist()
    return [row.tolist() for row in array]


def _need_parquet_engine(path):
    for module in ("pyarrow", "fastparquet"):
        try:
            __import__(module)
            return
        except ImportError:
            continue
    raise FileError(
        "Cannot read '%s': reading Parquet files needs pyarrow (or fastparquet), and this environment (%s) has "
        "neither. Add pyarrow to the deployment's environment (its conda file), or send CSV files."
        % (path, sys.executable)
    )


def _pandas():
    try:
        import pandas
    except ImportError:
        raise FileError(
            "Scoring an MLflow model without a scoring script needs pandas, which this environment (%s) does not "
            "have: add pandas to the deployment's environment." % sys.executable
        )
    return pandas
