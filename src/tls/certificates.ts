import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * oep's certificates, made with node-forge (X.509 building and signing) from RSA keys that
 * Node's crypto generates; read back and checked with Node's X509Certificate. No I/O here:
 * src/tls/local-ca.ts keeps them under OEP_HOME.
 */

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** The local CA lives this long (it is made once per OEP_HOME and trusted by hand). */
export const CA_VALIDITY_DAYS = 3650;
/**
 * An endpoint's certificate lives this long: 397 days, the most that browsers and Apple's
 * platforms accept for a server certificate, also from a CA the user added.
 */
export const SERVER_VALIDITY_DAYS = 397;
/** An endpoint's certificate with less left than this is made again when its listener (re)starts. */
export const RENEW_BEFORE_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start an hour back, so a clock a little behind still accepts them. */
const BACKDATE_MS = 60 * 60 * 1000;

/** The names an endpoint's certificate is valid for: 127.0.0.1, localhost and `<endpoint>.localhost`. */
export function endpointHostNames(endpoint: string): { ip: string; dns: string[] } {
  return { ip: '127.0.0.1', dns: ['localhost', `${endpoint.toLowerCase()}.localhost`] };
}

/** A new local CA: RSA 2048, SHA-256, basic constraints CA (path length 0), keyCertSign + cRLSign. */
export function makeCa(now = Date.now()): KeyPair {
  const keys = newRsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + CA_VALIDITY_DAYS * DAY_MS);
  // A random part in the name tells one OEP_HOME's CA from another's in a trust store.
  const subject = [
    { name: 'commonName', value: `oep local CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'oep (local development only)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return pemPair(cert, keys.privateKey);
}

/** An endpoint's server certificate, signed by `ca`, for endpointHostNames(endpoint). */
export function makeServerCertificate(ca: KeyPair, endpoint: string, now = Date.now()): KeyPair {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = newRsaKeys();
  const names = endpointHostNames(endpoint);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  // Never past the CA's own end.
  cert.validity.notAfter = new Date(Math.min(now + SERVER_VALIDITY_DAYS * DAY_MS, caCert.validity.notAfter.getTime()));
  cert.setSubject([
    { name: 'commonName', value: names.dns[1]! },
    { name: 'organizationName', value: 'oep (local development only)' },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: names.ip }, ...names.dns.map((value) => ({ type: 2, value }))] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return pemPair(cert, keys.privateKey);
}

/** forge writes PEM with CRLF line ends; oep's files (and what is read back from them) use LF. */
function pemPair(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): KeyPair {
  const lf = (pem: string): string => pem.replace(/\r\n/g, '\n');
  return { cert: lf(forge.pki.certificateToPem(cert)), key: lf(forge.pki.privateKeyToPem(key)) };
}

/** Why a CA key pair cannot be used (damaged, mismatched, not a CA, expired), or undefined when it can. */
export function caProblem(ca: KeyPair, now = Date.now()): string | undefined {
  const cert = parse(ca.cert);
  if (!cert) return 'its certificate is not a PEM X.509 certificate';
  if (!cert.ca) return 'its certificate is not a CA certificate';
  if (!matchesKey(cert, ca.key)) return 'its private key does not belong to its certificate';
  if (Date.parse(cert.validTo) <= now) return `it expired on ${new Date(cert.validTo).toISOString()}`;
  return undefined;
}

/**
 * Why an endpoint's certificate must be made again, or undefined when it can be used as it is:
 * signed by this CA, valid for the endpoint's names, its key matching, and more than
 * RENEW_BEFORE_DAYS left.
 */
export function serverCertificateProblem(pair: KeyPair, caCertPem: string, endpoint: string, now = Date.now()): string | undefined {
  const cert = parse(pair.cert);
  const ca = parse(caCertPem);
  if (!cert || !ca) return 'not a PEM X.509 certificate';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the local CA';
  const names = endpointHostNames(endpoint);
  if (cert.checkIP(names.ip) === undefined || names.dns.some((name) => cert.checkHost(name, { wildcards: false }) === undefined)) {
    return `not valid for ${[names.ip, ...names.dns].join(', ')}`;
  }
  if (!matchesKey(cert, pair.key)) return 'its private key does not belong to it';
  if (Date.parse(cert.validFrom) > now) return 'not valid yet';
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_DAYS * DAY_MS) return `it expires on ${new Date(cert.validTo).toISOString()}`;
  return undefined;
}

/** The PEM certificate and PEM private key that a file holding both has (an endpoint's file). */
export function splitPem(text: string): KeyPair | undefined {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  const key = /-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----\n?/.exec(text)?.[0];
  return cert && key ? { cert: withNewline(cert), key: withNewline(key) } : undefined;
}

function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function matchesKey(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** RSA 2048 keys from Node's crypto (native, fast), handed to forge for the certificate. */
function newRsaKeys(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

/** 16 random bytes, positive (RFC 5280: at most 20 octets, non-negative). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}
