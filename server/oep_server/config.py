"""Configuration: command line and environment variables (server/README.md, Environment)."""

import argparse
import os
import shutil

from . import SERVER_ID, SERVER_VERSION
from .contract import APP_ROOT_ENV, ENTRY_SCRIPT_ENV, MODEL_DIR_ENV, REPLICA_SECRET_ENV
from .output import flush_all, write_err, write_out


def _is_uuid(text):
    parts = text.split("-")
    if [len(part) for part in parts] != [8, 4, 4, 4, 12]:
        return False
    try:
        int("".join(parts), 16)
    except ValueError:
        return False
    return True


class ConfigError(Exception):
    pass


class Config(object):
    def __init__(self, args, env):
        self.host = args.host
        if args.port is not None:
            self.port = args.port
        else:
            self.port = self._int(env, "OEP_SERVER_PORT", 5001, minimum=0)
        if not 0 <= self.port <= 65535:
            raise ConfigError("port must be within 0..65535, got %d" % self.port)
        self.app_root = os.path.abspath(env.get(APP_ROOT_ENV) or os.getcwd())
        entry = env.get(ENTRY_SCRIPT_ENV)
        self.entry_script_env = entry
        if entry:
            self.entry_script = entry if os.path.isabs(entry) else os.path.join(self.app_root, entry)
        else:
            # azmlinfsrv imports `main` when no entry script is configured.
            self.entry_script = os.path.join(self.app_root, "main.py")
        self.entry_script = os.path.normpath(self.entry_script)
        self.model_dir = env.get(MODEL_DIR_ENV) or None
        self.worker_count = self._int(env, "WORKER_COUNT", 1, minimum=1)
        self.timeout_ms = self._int(env, "SCORING_TIMEOUT_MS", 3600 * 1000, minimum=1)
        self.stuck_restart_s = float(self._int(env, "OEP_STUCK_RUN_RESTART_S", 30, minimum=1))
        secret = env.get(REPLICA_SECRET_ENV) or ""
        self.replica_secret = secret.encode("latin-1", "replace") if secret else None
        # azmlinfsrv sends x-ms-server-version unless SERVER_VERSION_LOG_RESPONSE_ENABLED says otherwise
        version_flag = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
        self.server_version = SERVER_ID if version_flag is None or version_flag.lower() == "true" else None
        cors = env.get("AML_CORS_ORIGINS")
        self.cors_origins_env = cors
        self.cors_origins = [origin.strip() for origin in cors.split(",")] if cors else None
        self.config_file = env.get("AZUREML_CONFIG_FILE")
        self.app_insights_enabled = (
            env.get("AML_APP_INSIGHTS_ENABLED") == "true" and _is_uuid(env.get("AML_APP_INSIGHTS_KEY") or "")
        )
        self.app_insights_key_given = "AML_APP_INSIGHTS_KEY" in env
        self.service_name = env.get("SERVICE_NAME", "ML service")
        self.service_version = env.get("SERVICE_VERSION", "1.0")
        self.path_prefix = env.get("SERVICE_PATH_PREFIX", "")

    @staticmethod
    def _int(env, name, default, minimum):
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError("%s must be an integer, got %r" % (name, raw)) from None
        if value < minimum:
            raise ConfigError("%s must be at least %d, got %d" % (name, minimum, value))
        return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="oep_server.py",
        description="oep-server %s: runs an Azure ML scoring script behind the azmlinfsrv HTTP contract." % SERVER_VERSION,
    )
    parser.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: $OEP_SERVER_PORT or 5001; 0 picks a free one)"
    )
    return parser.parse_args(argv)


def maybe_exec_azmlinfsrv(cfg, env):
    """OEP_USE_AZMLINFSRV=1 and azmlinfsrv on PATH: replace this process with the real server."""
    if env.get("OEP_USE_AZMLINFSRV") != "1":
        return
    exe = shutil.which("azmlinfsrv")
    if not exe:
        write_err("oep-server: OEP_USE_AZMLINFSRV=1 but azmlinfsrv is not on PATH; serving with oep-server instead")
        return
    argv = [exe, "--entry_script", cfg.entry_script, "--port", str(cfg.port)]
    if env.get("WORKER_COUNT"):
        argv += ["--worker_count", str(cfg.worker_count)]
    if cfg.model_dir:
        argv += ["--model_dir", cfg.model_dir]
    if cfg.host not in ("0.0.0.0", ""):
        write_err("oep-server: note: azmlinfsrv always listens on 0.0.0.0 (--host %s is not passed on)" % cfg.host)
    write_out("oep-server: OEP_USE_AZMLINFSRV=1: exec %s" % " ".join(argv))
    flush_all()
    os.execv(exe, argv)
