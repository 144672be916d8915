"""oep's batch worker: one process that runs a batch deployment's scoring script, as one of the
worker processes of Azure ML's batch (ParallelRunStep) runtime does.

    python3 server/oep_batch.py     (or: python3 -m oep_batch, from server/)

The daemon's job runner starts it and drives it with JSON lines (docs/batch.md "Worker protocol"):
the worker keeps its real stdout for its answers and sends everything else the process writes
there to stderr (protocol.py), loads the script and calls init() once (script.py), then calls
run(files) for each mini-batch it is sent and answers the rows for the output file, already
formatted (rows.py), and the number of items that succeeded. With no scoring script it runs oep's
driver for MLflow models instead (mlflow_driver.py), which reads CSV and Parquet files as Azure's
generated driver does. At the end of its input it calls shutdown() and exits.

Standard library only at import time; pandas is imported when a script returns a DataFrame (then
it is already loaded) and by the MLflow driver.
"""

import os
import sys

# oep_mlflow/ (the MLflow model loader shared with the online MLflow script) lives beside this
# package in server/, which is mounted or copied as one folder.
SERVER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SERVER_DIR not in sys.path:
    sys.path.insert(0, SERVER_DIR)
