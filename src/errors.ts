/**
 * Typed errors with stable codes. Every code is listed in docs/errors.md (a test keeps the two
 * in step) and maps to exactly one exit code here.
 */

/** 2: bad input, nothing changed. 1: the operation failed. 130: interrupted. */
export type ExitCode = 1 | 2 | 130;

export const ERROR_EXIT_CODES = {
  OEP_ERR_USAGE: 2,
  OEP_ERR_FILE_NOT_FOUND: 2,
  OEP_ERR_SPEC_INVALID: 2,
  OEP_ERR_TRAFFIC_INVALID: 2,
  OEP_ERR_ENDPOINT_EXISTS: 2,
  OEP_ERR_ENDPOINT_NOT_FOUND: 2,
  OEP_ERR_DEPLOYMENT_EXISTS: 2,
  OEP_ERR_DEPLOYMENT_NOT_FOUND: 2,
  OEP_ERR_DEPLOYMENT_HAS_TRAFFIC: 2,
  OEP_ERR_DEPLOYMENT_IS_DEFAULT: 2,
  OEP_ERR_LIMIT_EXCEEDED: 2,
  OEP_ERR_CONFIRMATION_REQUIRED: 2,
  OEP_ERR_REQUEST_FILE: 2,
  OEP_ERR_QUERY_INVALID: 2,
  OEP_ERR_ASSET_EXISTS: 2,
  OEP_ERR_ASSET_NOT_FOUND: 2,
  OEP_ERR_IMAGE_MAP_INVALID: 2,
  OEP_ERR_PYTHON_NOT_FOUND: 2,
  OEP_ERR_HOME_UNSAFE: 2,
  OEP_ERR_SECRET_INJECTION: 2,
  OEP_ERR_CONNECTION_NOT_FOUND: 2,
  OEP_ERR_COMPUTE_NOT_FOUND: 2,
  OEP_ERR_SECRET_NOT_FOUND: 2,
  OEP_ERR_BENCHMARK_NOT_FOUND: 2,
  OEP_ERR_JOB_NOT_FOUND: 2,
  OEP_ERR_JOB_FAILED: 1,
  OEP_ERR_ABORTED: 1,
  OEP_ERR_DAEMON_UNAVAILABLE: 1,
  OEP_ERR_DAEMON_LOST: 1,
  OEP_ERR_DEPLOYMENT_FAILED: 1,
  OEP_ERR_INVOKE_FAILED: 1,
  OEP_ERR_RUNTIME_UNAVAILABLE: 1,
  OEP_ERR_DEBUGPY_MISSING: 1,
  OEP_ERR_DOCKER_UNAVAILABLE: 1,
  OEP_ERR_IMAGE_BUILD_FAILED: 1,
  OEP_ERR_IMAGE_PUSH_FAILED: 1,
  OEP_ERR_GPU_UNAVAILABLE: 1,
  OEP_ERR_PORT_UNAVAILABLE: 1,
  OEP_ERR_INTERNAL: 1,
  OEP_ERR_NOT_BUILT: 1,
  OEP_ERR_AGREEMENT_BELOW: 1,
  OEP_ERR_SLO_BREACHED: 1,
  OEP_ERR_TLS_UNAVAILABLE: 1,
  OEP_ERR_BEING_DELETED: 1,
  OEP_ERR_INTERRUPTED: 130,
} as const satisfies Record<string, ExitCode>;

export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

export interface OepErrorOptions {
  hint?: string;
  /** Extra lines shown under the message: one per problem, log tails, tracebacks. */
  details?: string[];
  cause?: unknown;
  /** Where a deployment failed (start, load, init, probe), as a field rather than message text. */
  phase?: string;
}

export class OepError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details: string[];
  readonly phase?: string;

  constructor(code: ErrorCode, message: string, options: OepErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OepError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
    this.phase = options.phase;
  }

  get exitCode(): ExitCode {
    return ERROR_EXIT_CODES[this.code];
  }

  /** The shape errors take across the daemon's control API. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details, ...(this.phase !== undefined && { phase: this.phase }) };
  }

  static fromJSON(value: SerializedError): OepError {
    const code = value.code in ERROR_EXIT_CODES ? value.code : 'OEP_ERR_INTERNAL';
    return new OepError(code, value.message, { hint: value.hint, details: value.details, phase: value.phase });
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: string[];
  phase?: string;
}

export function isOepError(value: unknown): value is OepError {
  return value instanceof OepError;
}

export function exitCodeOf(error: unknown): ExitCode {
  return isOepError(error) ? error.exitCode : 1;
}
