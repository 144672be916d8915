/**
 * What a client is answered when the replicas of its deployment die under it (issue 25 point 4).
 *
 * Azure's front door answers 500 only when its own infrastructure fails; oep answers 500 only
 * for its own bugs. A replica that is gone is the deployment's trouble, so:
 * - no ready replica (none left, and none came back within the request's timeout):
 *   503 Service Unavailable, on managed and kubernetes endpoints alike (Kubernetes endpoints
 *   document 503 for "not enough replicas"; it is also what oep answers already when a request
 *   finds no ready replica);
 * - the replica dropped the request after taking (part of) a body that cannot be sent again, or
 *   answered something that is not HTTP: 502 Bad Gateway (Kubernetes endpoints document 502 for a
 *   crash in score.py's run(); on a managed endpoint the instance's own proxy answers 502 for a
 *   user container that crashed, as its liveness probe reports it).
 * docs/contract.md section 6 has the sources.
 */

/** The status of a request whose deployment has no ready replica. */
export const NO_READY_REPLICA_STATUS = 503;
/** The status of a request its replica dropped or answered with something that is not HTTP. */
export const BAD_GATEWAY_STATUS = 502;

/** How many times one request is sent again after its replica refused or dropped it. */
export const MAX_RESENDS = 3;

/** No replica of the deployment could take the request within its timeout. */
export class NoReadyReplicaError extends Error {
  constructor(readonly deployment: string, readonly waitedMs: number | undefined) {
    super(
      waitedMs === undefined
        ? `Deployment ${deployment} has no ready replica.`
        : `Deployment ${deployment} has no ready replica: the replica the request went to stopped answering (it may have crashed) and no other was ready in time (request_settings.request_timeout_ms: ${waitedMs} ms).`,
    );
  }
}

/** The replica dropped the request after its body had gone (a large body that was streamed): it cannot be sent again. */
export class ReplicaLostError extends Error {
  constructor(readonly deployment: string) {
    super(`Bad gateway: the replica of deployment ${deployment} closed the connection before answering (it may have crashed), and the request's body could not be sent again.`);
  }
}

/** Codes of a replica answer that is not valid HTTP: from oep's own pool, or from undici's parser (HPE_*). */
export function isBadAnswer(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === 'REPLICA_BAD_ANSWER' || (code !== undefined && code.startsWith('HPE_'));
}

/** The message of a 502 for an answer that is not valid HTTP. */
export function badAnswerMessage(deployment: string): string {
  return `Bad gateway: the replica of deployment ${deployment} answered with something that is not valid HTTP.`;
}
