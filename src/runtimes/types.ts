import type { DeploymentSpec } from '../spec/types.js';
import type { RuntimeKind } from '../state/types.js';
import type { EmitProgress } from '../model/progress.js';
import type { FoundReplica } from '../model/replica-plan.js';
import type { DebugSettings } from '../model/debug.js';
import type { PythonInterpreter, RecordedPython } from '../model/process-interpreter.js';
import type { MiniBatch } from '../model/batch-plan.js';

export type { EmitProgress, ProgressEvent } from '../model/progress.js';

export interface ReplicaTarget {
  /** Where the scoring route answers, e.g. http://127.0.0.1:41234 */
  origin: string;
  scoringPath: string;
  readinessPath: string;
  livenessPath: string;
}

/** One running copy of a deployment: a child process or a container. */
export interface ReplicaHandle {
  readonly id: string;
  readonly target: ReplicaTarget;
  /** The OS process id of the server, where the runtime knows it (process runtime). */
  readonly pid?: number;
  /** Resolves with a description of how the replica ended (exit code, signal). */
  readonly exited: Promise<ReplicaExit>;
  /** Found running (left by an earlier daemon) and taken over, rather than started now. */
  readonly adopted?: boolean;
  /** The Python that runs the server, where the runtime chose it (process runtime): named by a failure's hint. */
  readonly interpreter?: PythonInterpreter;
  stop(): Promise<void>;
}

export interface ReplicaExit {
  code: number | null;
  signal: string | null;
  /** Why the replica could not even start (e.g. the interpreter is missing). */
  error?: string;
}

export interface ReplicaRequest {
  endpoint: string;
  deployment: string;
  replica: number;
  spec: DeploymentSpec;
  generation: number;
  /** File that receives the replica's stdout and stderr. */
  logFile: string;
  emit: EmitProgress;
  /** --debug: oep's server runs under debugpy on this port (one worker, no fork). */
  debug?: DebugSettings;
  /** Process runtime: the interpreter the deployment's record keeps (absent: the runtime's setting). */
  python?: RecordedPython;
}

export type { FoundReplica };

/** A deployment's configuration to ready before any replica of it starts or is adopted. */
export type PrepareRequest = Omit<ReplicaRequest, 'replica' | 'logFile'>;

export interface PreparedConfiguration {
  /** What a found replica of this configuration must carry to be adopted. */
  configHash: string;
  /**
   * The deployment's replicas of this generation seen now (Docker: its containers by label),
   * for those an earlier daemon left while the runtime could not be asked at start-up.
   */
  found?: FoundReplica[];
}

/** A command's runtime choices (--local-enable-gpu, --pull), for the deployment's next roll-out. */
export interface RuntimeChoices {
  gpu: boolean;
  pull: boolean;
}

export interface ReleaseOptions {
  /** Also remove what the runtime built for the deployment (Docker: oep's image tags). */
  purge: boolean;
}

/** The supervisor and router only ever see this; they never know which runtime runs a replica. */
export interface Runtime {
  readonly kind: RuntimeKind;
  startReplica(request: ReplicaRequest): Promise<ReplicaHandle>;
  /**
   * The replicas of this OEP_HOME that an earlier daemon left (running or not): containers by
   * their labels, processes by their records. Throws when the runtime cannot tell (no engine).
   */
  findReplicas(): Promise<FoundReplica[]>;
  /** Takes over a found replica that runs the wanted configuration. */
  adoptReplica(found: FoundReplica, request: ReplicaRequest): Promise<ReplicaHandle>;
  /** Stops a found replica nobody wants, or forgets one that no longer runs. */
  discardReplica(found: FoundReplica): Promise<void>;
  /**
   * Readies a configuration before any replica of it starts (Docker: the image) and says which
   * config hash a found replica needs to be adopted, so the replica plan decides adopt or start
   * once, knowing it. A replica's start or adoption then decides nothing more. Absent: found
   * replicas are adopted by generation and index alone.
   */
  prepare?(request: PrepareRequest): Promise<PreparedConfiguration>;
  /**
   * A replica of the deployment is ready: the runtime may ready ahead what the deployment's next
   * start needs (process: a warm interpreter, runtimes/process/spare.ts), so a reload or restart
   * starts sooner. Best effort; absent: nothing to ready.
   */
  standBy?(request: ReplicaRequest): Promise<void>;
  /** Removes whatever the runtime prepared for a deployment (links, containers). */
  cleanup(endpoint: string, deployment: string): Promise<void>;
  /**
   * Throws when the runtime cannot run anything right now (Docker: no engine answers), so a
   * command fails before anything is recorded. Absent: the runtime can always run.
   */
  check?(): Promise<void>;
  /** Takes a command's choices for the deployment's next roll-out; may emit a notice about one it ignores. */
  configure?(endpoint: string, deployment: string, choices: RuntimeChoices, emit: EmitProgress): Promise<void>;
  /** For a deleted deployment: removes what the runtime keeps for it beyond its replicas (files, networks, with purge images). */
  release?(endpoint: string, deployment: string, options: ReleaseOptions): Promise<void>;
}

// Batch jobs (src/supervisor/batch-runner.ts): a worker runs oep's batch worker (server/oep_batch)
// over mini-batches; the protocol is in docs/batch.md "Worker protocol".

/** What a worker says on its protocol stream, one JSON object a line. */
export type WorkerMessage =
  | { event: 'ready' }
  | { event: 'init_failed'; error: string }
  | { event: 'done'; mini_batch: number; rows: string[]; succeeded: number }
  | { event: 'failed'; mini_batch: number; error: string };

export interface WorkerEnd {
  code: number | null;
  signal: string | null;
  /** Why it could not even start (e.g. no such interpreter). */
  error?: string;
}

/** One running worker, as a launcher started it. */
export interface BatchWorker {
  /** Sends a mini-batch (one line on the worker's stdin). */
  send(batch: MiniBatch): void;
  /** Called for each message the worker writes, in order. */
  onMessage(listener: (message: WorkerMessage) => void): void;
  readonly ended: Promise<WorkerEnd>;
  /** No more mini-batches: the worker calls shutdown() and exits by itself. */
  finish(): void;
  /** Ends the worker at once (a timeout, a cancel, the error threshold passed). */
  kill(): Promise<void>;
}

/** Starts workers for one job: a process per worker, or a container (the runtimes). */
export interface WorkerLauncher {
  /** `slot`: which of the job's workers (0-based), for its log file's name. */
  start(slot: number): Promise<BatchWorker>;
}
