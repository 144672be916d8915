import { join } from 'node:path';

/**
 * Where oep keeps its local CA and the endpoints' certificates (src/tls/local-ca.ts makes them):
 *
 *   OEP_HOME/tls/                      0700
 *   OEP_HOME/tls/ca-key.pem            the CA's private key and certificate (0600), made once
 *   OEP_HOME/tls/ca.pem                the CA's certificate alone: what clients trust (`oep ca path`)
 *   OEP_HOME/tls/endpoints/<name>.pem  an endpoint's certificate and private key (0600)
 *
 * Apart from the certificates (no forge here), so the CLI finds the CA file cheaply.
 */
export function tlsDir(home: string): string {
  return join(home, 'tls');
}

/** The file holding the CA's private key and its certificate. */
export function caPrivateFile(home: string): string {
  return join(tlsDir(home), 'ca-key.pem');
}

/** The CA certificate file that clients trust (`oep ca path`). */
export function caCertificateFile(home: string): string {
  return join(tlsDir(home), 'ca.pem');
}

/** The file holding an endpoint's certificate and private key. */
export function endpointCertificateFile(home: string, endpoint: string): string {
  return join(tlsDir(home), 'endpoints', `${endpoint}.pem`);
}
