"""Trains the example's model: a ridge regression on the diabetes data that ships with scikit-learn.

Run it inside the stand-in image (images/build.sh sklearn), so the pickle matches its scikit-learn:

    docker run --rm -v "$PWD":/work -w /work oep-test/python-sklearn:bookworm python3 train.py

It writes model/sklearn_regression_model.pkl and prints the predictions for sample-request.json.
"""
import json
import os

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

here = os.path.dirname(os.path.abspath(__file__))

features, target = load_diabetes(return_X_y=True)
model = Ridge(alpha=0.5).fit(features, target)

os.makedirs(os.path.join(here, "model"), exist_ok=True)
joblib.dump(model, os.path.join(here, "model", "sklearn_regression_model.pkl"))

with open(os.path.join(here, "sample-request.json"), encoding="utf-8") as handle:
    rows = json.load(handle)["data"]
print("model written to model/sklearn_regression_model.pkl")
print("predictions for sample-request.json:", json.dumps(model.predict(rows).tolist()))
