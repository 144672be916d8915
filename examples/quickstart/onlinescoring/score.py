"""A scoring script in Azure's layout, using only Python's standard library.

The same file runs unchanged on Azure: the model folder is found under AZUREML_MODEL_DIR,
keeping the last segment of model.path (here: model/).
"""
import json
import logging
import os

model = None


def init():
    global model
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")
    with open(path, encoding="utf-8") as handle:
        model = json.load(handle)
    logging.info("loaded linear model with features %s", model["features"])
    print("init complete: model loaded from", path)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    predictions = []
    for row in rows:
        if len(row) != len(model["coef"]):
            raise ValueError("expected %d features per row, got %d" % (len(model["coef"]), len(row)))
        value = model["intercept"] + sum(c * x for c, x in zip(model["coef"], row))
        predictions.append(round(value, 4))
    return predictions
