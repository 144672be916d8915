/** Where a deployment's replicas run: local processes or Docker containers. */
export type RuntimeKind = 'process' | 'docker';
