/**
 * Azure ML's managed-identity contract inside a deployment (docs/contract.md section 9), as data:
 * the variables every replica gets and where the MSI endpoint answers. Pure, no I/O.
 *
 * azure-identity's AzureMLCredential (and MSAL's "MachineLearning" source) is chosen by
 * MSI_ENDPOINT + MSI_SECRET; IDENTITY_ENDPOINT/IDENTITY_HEADER (App Service's) would win over it
 * and AZURE_CLIENT_ID & co. would take DefaultAzureCredential elsewhere, so oep never sets those.
 */

import { MSI_PORT_ENV, MSI_SOCKET_ENV } from './server-contract.js';

/** The path the MSI endpoint answers on, as on Azure ML compute (`http://127.0.0.1:46808/MSI/auth`). */
export const MSI_PATH = '/MSI/auth';
/** Inside a container, oep's server forwards this loopback port to the daemon's MSI socket. */
export const CONTAINER_MSI_PORT = 46808;
/** Where the folder holding the daemon's MSI socket is mounted in a container (read-only). */
export const CONTAINER_MSI_DIR = '/var/run/oep-msi';
/** The socket's name, in that folder on both sides. */
export const MSI_SOCKET_NAME = 'msi.sock';

/**
 * Variables a process replica must not inherit from the daemon's environment (the developer's
 * shell): each would make azure-identity pick another credential than the deployment's managed
 * identity (App Service, Arc, Service Fabric, a service principal, workload identity), which
 * Azure's containers never have. A deployment's `environment_variables` may still set them.
 */
export const INHERITED_CREDENTIAL_VARIABLES: readonly string[] = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'DEFAULT_IDENTITY_CLIENT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
];

/** What the runtimes need to give a replica its managed identity (wired by the daemon). */
export interface ReplicaIdentityAccess {
  /** MSI_ENDPOINT for process replicas: the daemon's listener on 127.0.0.1; undefined until it listens. */
  processEndpoint(): string | undefined;
  /** The host folder holding the daemon's MSI socket, mounted into containers; undefined until it listens. */
  socketDir(): string | undefined;
  /** DEFAULT_IDENTITY_CLIENT_ID: the endpoint's default identity's client id; undefined for an endpoint without identities. */
  defaultClientId(endpoint: string): string | undefined;
  /** The deployment's MSI_SECRET. */
  secret(endpoint: string, deployment: string): string;
}

/** `http://127.0.0.1:<port>/MSI/auth`. */
export function msiEndpointUrl(port: number): string {
  return `http://127.0.0.1:${port}${MSI_PATH}`;
}

/** MSI_ENDPOINT inside a container: oep's server forwards it to the daemon (no network needed). */
export const CONTAINER_MSI_ENDPOINT = msiEndpointUrl(CONTAINER_MSI_PORT);

/** The three platform variables of Azure ML's managed identity. */
export function msiEnvironment(endpoint: string, secret: string, clientId: string): Record<string, string> {
  return { MSI_ENDPOINT: endpoint, MSI_SECRET: secret, DEFAULT_IDENTITY_CLIENT_ID: clientId };
}

/** The variables that start oep's in-container forwarder: 127.0.0.1:46808 -> the mounted socket. */
export function msiForwardEnvironment(): Record<string, string> {
  return { [MSI_SOCKET_ENV]: `${CONTAINER_MSI_DIR}/${MSI_SOCKET_NAME}`, [MSI_PORT_ENV]: String(CONTAINER_MSI_PORT) };
}
