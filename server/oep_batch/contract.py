"""What the daemon's job runner (TypeScript) and the batch worker agree on: the environment
variables the runner sets, the events the worker answers and its exit codes. docs/batch.md
"Worker protocol" documents each; change both sides together.
"""

# -- environment variables the runner sets ---------------------------------------------------------
# The scoring script's absolute path; absent for an MLflow model deployed without one.
SCRIPT_ENV = "OEP_BATCH_SCRIPT"
# With no script: the MLflow model's folder (the one holding MLmodel, or a folder above it).
MLFLOW_MODEL_ENV = "OEP_BATCH_MLFLOW_MODEL"
# The job's output folder, also given to the script under Azure's name (OUTPUT_PATH_ENV).
OUTPUT_DIR_ENV = "OEP_BATCH_OUTPUT_DIR"
# settings.logging_level (warning, info, debug): the root logger's level and --logging_level.
LOGGING_LEVEL_ENV = "OEP_BATCH_LOGGING_LEVEL"

# -- Azure's name for the output folder, which the worker sets (AZUREML_MODEL_DIR, which the runner
# sets, is the online contract's: oep_server/contract.py MODEL_DIR_ENV) -------------------------------
OUTPUT_PATH_ENV = "AZUREML_BI_OUTPUT_PATH"

# -- events on the protocol stream (the worker's real stdout) ---------------------------------------
EVENT_READY = "ready"
EVENT_INIT_FAILED = "init_failed"
EVENT_DONE = "done"
EVENT_FAILED = "failed"

# -- exit codes ------------------------------------------------------------------------------------
EXIT_OK = 0
# shutdown() raised (its traceback is on stderr); every mini-batch had been answered.
EXIT_SHUTDOWN_FAILED = 1
# The script could not be loaded or init() raised: after init_failed (the online server's code too).
EXIT_INIT_FAILED = 3

# The file in the code folder that changes how a returned DataFrame is written (ParallelRunStep's).
APPEND_ROW_SETTINGS_FILE = "parallel_run_step.settings.json"
