import { OepError } from '../errors.js';

/** `--tls on|off` of endpoint create and update: true, false, or undefined when not given. */
export function parseTlsFlag(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new OepError('OEP_ERR_USAGE', `--tls "${value}" is not on or off.`, {
    hint: "--tls on serves the endpoint over HTTPS (a certificate from oep's local CA), --tls off over HTTP.",
  });
}
