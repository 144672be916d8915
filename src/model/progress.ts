/** A progress or log event on its way from a runtime, through the daemon, to the CLI's spinner. */
export interface ProgressEvent {
  phase: string;
  message: string;
}

export type EmitProgress = (event: ProgressEvent) => void;
