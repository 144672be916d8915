import { userInfo } from 'node:os';
import type { OepPaths } from '../state/paths.js';
import { replicaSecret } from '../state/secrets.js';
import { endpointCertificate } from '../tls/local-ca.js';
import type { ViewSources } from './views.js';

/** The views' sources for a daemon's home: its folders, its derived secrets, its local CA. */
export function homeViewSources(paths: OepPaths): ViewSources {
  return {
    paths,
    replicaSecret: (endpoint, deployment) => replicaSecret(paths.home, endpoint, deployment),
    certificate: (endpoint) => endpointCertificate(paths.home, endpoint),
    userName: localUserName(),
  };
}

/** Who created an endpoint, for its `createdBy` property: the daemon's user is the home's (it runs as them). */
function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for the uid (a container run with --user): the uid is all there is.
    return String(process.getuid?.() ?? 'unknown');
  }
}
