import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OepError } from '../errors.js';
import { caProblem, makeCa, makeServerCertificate, serverCertificateProblem, splitPem, type KeyPair } from './certificates.js';
import { caCertificateFile, caPrivateFile, endpointCertificateFile, tlsDir } from './paths.js';

/**
 * oep's local CA and the endpoints' certificates, under OEP_HOME/tls (the files: src/tls/paths.ts).
 * The CA is made with a link(2) of a complete file, so two processes making it at once (the CLI's
 * `oep ca path` and the daemon) agree on one CA. Endpoint certificates are made by the daemon
 * only. Private keys never leave their 0600 files: no view, log or error names their content.
 */

/**
 * The home's CA, made on first use; also (re)writes ca.pem when it is missing or differs. Throws
 * OEP_ERR_TLS_UNAVAILABLE when the CA's file is damaged or the folder cannot be written.
 */
export function localCa(home: string, now = Date.now()): KeyPair {
  const dir = tlsDir(home);
  const privateFile = caPrivateFile(home);
  const ca = guard(`oep's local CA in ${dir}`, () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let text = readIfExists(privateFile);
    if (text === undefined) {
      const made = makeCa(now);
      const temp = `${privateFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeNew(temp, `${made.key}${made.cert}`, 0o600);
      try {
        linkSync(temp, privateFile);
      } catch (error) {
        // Another process made it first: theirs is the CA.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        unlinkSync(temp);
      }
      text = readFileSync(privateFile, 'utf8');
    }
    return splitPem(text);
  });
  const problem = ca ? caProblem(ca, now) : 'it does not hold a PEM certificate and private key';
  if (!ca || problem) {
    throw new OepError('OEP_ERR_TLS_UNAVAILABLE', `oep's local CA (${privateFile}) cannot be used: ${problem}.`, {
      hint: `Remove ${dir} to make a new CA (oep daemon stop first; clients then need the new ${caCertificateFile(home)}: oep ca path).`,
    });
  }
  guard(`the CA certificate ${caCertificateFile(home)}`, () => {
    if (readIfExists(caCertificateFile(home)) !== ca.cert) replaceFile(caCertificateFile(home), ca.cert, 0o600);
  });
  return ca;
}

/**
 * An endpoint's certificate and key: the one on disk when it is still good (signed by the home's
 * CA, for the endpoint's names, more than 30 days left), else a new one, written (0600) before it
 * is returned. Only the daemon calls it.
 */
export function endpointCertificate(home: string, endpoint: string, now = Date.now()): KeyPair {
  const ca = localCa(home, now);
  const file = endpointCertificateFile(home, endpoint);
  return guard(`the certificate of endpoint ${endpoint} (${file})`, () => {
    const text = readIfExists(file);
    const existing = text === undefined ? undefined : splitPem(text);
    if (existing && serverCertificateProblem(existing, ca.cert, endpoint, now) === undefined) return existing;
    const made = makeServerCertificate(ca, endpoint, now);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    replaceFile(file, `${made.cert}${made.key}`, 0o600);
    return made;
  });
}

/** Removes an endpoint's certificate (the endpoint is deleted); the CA stays. */
export function removeEndpointCertificate(home: string, endpoint: string): void {
  rmSync(endpointCertificateFile(home, endpoint), { force: true });
}

/** File-system failures as OEP_ERR_TLS_UNAVAILABLE (exit 1), naming the file, never its content. */
function guard<T>(what: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof OepError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new OepError('OEP_ERR_TLS_UNAVAILABLE', `Cannot read or write ${what}: ${code ?? (error as Error).message}.`, {
      hint: 'Check that OEP_HOME is yours and writable (ls -ld "$OEP_HOME/tls").',
    });
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a new file (it must not exist) with `mode`, flushed to disk. */
function writeNew(file: string, content: string, mode: number): void {
  const fd = openSync(file, 'wx', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces a file at once (a temporary sibling renamed over it): readers see the old or the new one. */
function replaceFile(file: string, content: string, mode: number): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeNew(temp, content, mode);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
