"""What oep's daemon and router (TypeScript, src/) and this server agree on: exit codes, the lines the
daemon looks for in a replica's log, header names and environment variable names.

Its twin is src/model/server-contract.ts: the same names with the same values.
test/server/contract.test.ts reads both and fails when they differ, and when either side writes one
of these values anywhere but its contract file. Change a value in both files at once.

It imports nothing, so that oep_debug, oep_monitoring and oep_mlflow_score, beside the package, can
use it too. Exit codes only the server itself reads stay in __init__.py.
"""

# -- exit codes the daemon tells apart (src/supervisor/replica-start.ts) --------------------------
# The entry script could not be loaded, or its init() raised (azmlinfsrv's code too).
EXIT_INIT_FAILED = 3
# --debug: debugpy could not be imported or could not listen.
EXIT_DEBUG_FAILED = 4

# -- the line written before the details, which the daemon finds in the log to say what failed -----
LOAD_FAILED_MARK = "oep-server: loading the entry script failed:"
DEBUGPY_MISSING_MARK = "oep-server: debugpy is not installed:"
DEBUGPY_LISTEN_FAILED_MARK = "oep-server: debugpy could not listen:"

# -- request headers oep's router adds ------------------------------------------------------------
# The deployment's secret: with REPLICA_SECRET_ENV set, a request without it is answered 401.
REPLICA_SECRET_HEADER = "x-oep-replica-secret"
# "1" or "0": whether this request is in data collection's sample (data_collector.sampling_rate).
SAMPLE_HEADER = "x-oep-data-collection"

# -- environment variables the daemon sets for a replica ------------------------------------------
REPLICA_SECRET_ENV = "OEP_REPLICA_SECRET"
# The umask the daemon was started with (it runs with 077); the scoring script gets it back.
UMASK_ENV = "OEP_UMASK"
# The managed identity forwarder: the daemon's MSI socket and the port to serve it on.
MSI_SOCKET_ENV = "OEP_MSI_SOCKET"
MSI_PORT_ENV = "OEP_MSI_PORT"
# --debug: HOST:PORT for debugpy, wait for a debugger before init(), the token, own user only.
DEBUGPY_ENV = "OEP_DEBUGPY"
DEBUGPY_WAIT_ENV = "OEP_DEBUGPY_WAIT"
DEBUGPY_TOKEN_ENV = "OEP_DEBUGPY_TOKEN"
DEBUGPY_OWN_USER_ENV = "OEP_DEBUGPY_OWN_USER"
# data_collector: where the collected files go, and the collections' settings as JSON.
DATA_COLLECTOR_DIR_ENV = "OEP_DATA_COLLECTOR_DIR"
DATA_COLLECTOR_SETTINGS_ENV = "OEP_DATA_COLLECTOR"
# Azure's own names, which oep sets as Azure does.
MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
APP_ROOT_ENV = "AML_APP_ROOT"
ENTRY_SCRIPT_ENV = "AZUREML_ENTRY_SCRIPT"
MLFLOW_MODEL_FOLDER_ENV = "MLFLOW_MODEL_FOLDER"
