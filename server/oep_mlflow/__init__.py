"""oep's MLflow no-code scoring path (see server/README.md, "MLflow models without a scoring script").

What Azure ML's generated MLflow scoring script does, written for oep: find the MLflow model under
AZUREML_MODEL_DIR, load it (with the mlflow package when it is installed, else the scikit-learn
flavour straight from the MLmodel file), read `{"input_data": ..., "params": ...}` requests, check
them against the model's signature and serialise the prediction. The entry script is
server/oep_mlflow_score.py; this package holds its parts. Standard library only at import time:
numpy, pandas, cloudpickle and pyyaml are imported when a model or a request needs them.
"""
