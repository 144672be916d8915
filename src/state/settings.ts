import { statSync } from 'node:fs';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../model/runtime-kind.js';
import { checkNotLink, ensureHome } from './home-check.js';
import { resolveOepHome } from './paths.js';

/**
 * User preferences (conf), never state: the daemon's state lives in state.json. The file sits in
 * OEP_HOME beside everything else oep keeps, so the CLI and the daemon it starts always read the
 * same preferences, and a temporary OEP_HOME (tests) has its own.
 */
export interface Settings {
  /** The runtime used when a deployment does not name one with --runtime. */
  runtime: RuntimeChoice;
  /** The Python interpreter the process runtime runs the scoring server with (OEP_PYTHON on a create or update wins; the deployment records the one it got). */
  python: string;
  /** Replica, access and daemon logs rotate past this many MB (a whole number, as text). */
  log_max_mb: string;
  /** Pairs of mirrored requests kept per endpoint for `oep traffic compare` (a whole number, as text). */
  pair_ring_size: string;
  /** An image map file (absolute path), or '' for none (OEP_IMAGE_MAP overrides it). */
  image_map: string;
  /** Where the managed identity's tokens come from (src/identity/token-sources.ts). */
  identity_source: 'auto' | 'az' | 'local';
  /** Where `${{keyvault:...}}` references are read (src/registry/secret-injection.ts). */
  keyvault_source: 'local' | 'az' | 'auto';
  /** Whether endpoints created from now on speak HTTPS (`--tls on|off` on create/update decides per endpoint). */
  tls: 'on' | 'off';
  /** A Microsoft Entra ID tenant (id or domain) whose tokens aad_token endpoints also accept; '' for none (src/identity/aad.ts). */
  aad_tenant: string;
}

export type SettingKey = keyof Settings;

/**
 * aad_tenant: a tenant id (GUID) or a domain name (labels of letters, digits and hyphens, at least
 * two, the last alphabetic), or '' (off). Not `common`, `organizations` or `consumers`: those are
 * every tenant, not one. No flags: conf's JSON schema uses the source.
 */
const AAD_TENANT_PATTERN =
  /^(|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(?=.{4,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63})$/;

/** Whether an aad_tenant value is a tenant id (a GUID), which tokens' `tid` must then equal. */
export function isTenantId(tenant: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(tenant);
}

interface SettingRule {
  /** The allowed values; absent for free text. */
  values?: readonly string[];
  /** What free text must look like, and how to say so. */
  pattern?: { regex: RegExp; expected: string };
  default: string;
  description: string;
  /** Free text that may be left empty (its default): no minimum length in the schema. */
  optional?: boolean;
}

export const SETTING_RULES: Record<SettingKey, SettingRule> = {
  runtime: {
    values: RUNTIME_CHOICES,
    default: 'auto',
    description: 'default runtime: auto (docker when an engine answers, else process), docker or process',
  },
  python: {
    default: 'python3',
    description:
      'the Python interpreter of the process runtime (a name on PATH or a path), read by each deployment create or update, which records it with the deployment (OEP_PYTHON on the command overrides it)',
  },
  log_max_mb: {
    default: '10',
    pattern: { regex: /^[1-9][0-9]{0,5}$/, expected: 'a whole number of MB from 1 to 999999' },
    description: 'replica, access and daemon logs rotate past this size in MB, keeping one rotated file (<log>.1)',
  },
  pair_ring_size: {
    default: '1000',
    pattern: { regex: /^[1-9][0-9]{0,5}$/, expected: 'a whole number of pairs from 1 to 999999' },
    description: 'pairs of mirrored requests kept per endpoint for `oep traffic compare` (memory and disk; read when the daemon starts)',
  },
  image_map: {
    default: '',
    optional: true,
    description:
      'a YAML file of "<image>: <local image>" lines: on Docker, a deployment whose environment names <image> runs the local one instead (offline; images/offline.yml maps Azure\'s images to the stand-ins of images/build.sh; OEP_IMAGE_MAP overrides it)',
  },
  identity_source: {
    values: ['auto', 'az', 'local'],
    default: 'auto',
    description:
      "where the tokens a deployment gets from MSI_ENDPOINT come from: az (your Azure CLI login: the deployment acts as you), local (oep's tokens for the endpoint's identity, which Azure services refuse) or auto (az when it is on PATH and logged in, else local)",
  },
  keyvault_source: {
    values: ['local', 'az', 'auto'],
    default: 'local',
    description:
      "where a deployment's ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>[/<version>]}} references are read: local (oep's local vault, oep keyvault secret set), az (the real vault, through your Azure CLI login: az keyvault secret show --id ...) or auto (the local vault when it has the secret, else the Azure CLI)",
  },
  tls: {
    values: ['on', 'off'],
    default: 'off',
    description:
      'whether endpoints created from now on speak HTTPS with a certificate from oep\'s local CA (oep ca path); an existing endpoint keeps its protocol until oep endpoint update -n NAME --tls on|off',
  },
  aad_tenant: {
    default: '',
    optional: true,
    // '' is the default (off); `config set` refuses an empty value before the pattern is tried.
    pattern: { regex: AAD_TENANT_PATTERN, expected: "a tenant id (a GUID) or one of the tenant's domains (e.g. contoso.onmicrosoft.com)" },
    description:
      "a Microsoft Entra ID tenant (its id, or a domain of it) whose tokens for https://ml.azure.com aad_token endpoints also accept, checked against the tenant's signing keys (fetched from login.microsoftonline.com); unset: only oep's local tokens",
  },
};

/** The image map file in force: OEP_IMAGE_MAP, else the image_map setting; undefined for none. */
export function imageMapFile(settings: Pick<Settings, 'image_map'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.OEP_IMAGE_MAP || settings.image_map || undefined;
}

/** How many pairs of mirrored requests each endpoint keeps (pair_ring_size). */
export function pairRingSize(settings: Pick<Settings, 'pair_ring_size'>): number {
  const size = Number(settings.pair_ring_size);
  return Number.isSafeInteger(size) && size > 0 ? size : Number(SETTING_RULES.pair_ring_size.default);
}

/** The size past which logs rotate (log_max_mb), in bytes. */
export function logMaxBytes(settings: Pick<Settings, 'log_max_mb'>): number {
  const megabytes = Number(settings.log_max_mb);
  return (Number.isSafeInteger(megabytes) && megabytes > 0 ? megabytes : Number(SETTING_RULES.log_max_mb.default)) * 1024 * 1024;
}

export const SETTINGS_FILE_NAME = 'settings.json';

/**
 * One setting for a daemon that needs it on many requests: opening the settings (conf, its
 * schema) costs milliseconds, so the value is read again only when settings.json is another file
 * (conf replaces it on each change), or has another size or mtime. A stat per call, so `oep config
 * set` applies from the next call, without a daemon restart.
 */
export function settingReader<K extends SettingKey>(key: K, env: NodeJS.ProcessEnv = process.env): () => Promise<Settings[K]> {
  const file = settingsFile(env);
  let known: { version: string; value: Promise<Settings[K]> } | undefined;
  return () => {
    let version = 'none';
    try {
      const stat = statSync(file, { bigint: true });
      version = `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch {
      // Not there yet: opening the settings makes it.
    }
    if (known?.version !== version) {
      const value = openSettings(env).then((settings) => settings.get(key));
      // A failed read is tried again on the next call.
      value.catch(() => {
        if (known?.value === value) known = undefined;
      });
      known = { version, value };
    }
    return known.value;
  };
}

export function settingsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolveOepHome(env), SETTINGS_FILE_NAME);
}

export interface UserSettings {
  readonly path: string;
  get<K extends SettingKey>(key: K): Settings[K];
  set(key: string, value: string): void;
  /** Back to the default value. */
  reset(key: string): void;
  all(): Settings;
}

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_RULES, key);
}

/** Checks a key and value the way `oep config set` reports them: exit 2, nothing written. */
export function checkSetting(key: string, value?: string): SettingKey {
  if (!isSettingKey(key)) {
    throw new OepError('OEP_ERR_USAGE', `Unknown setting "${key}".`, {
      hint: `Settings: ${Object.keys(SETTING_RULES).join(', ')}.`,
    });
  }
  const rule = SETTING_RULES[key];
  if (value !== undefined && rule.values && !rule.values.includes(value)) {
    throw new OepError('OEP_ERR_USAGE', `"${value}" is not a valid value for ${key}; use one of: ${rule.values.join(', ')}.`);
  }
  if (value !== undefined && value.trim() === '') {
    throw new OepError('OEP_ERR_USAGE', `${key} cannot be empty.`);
  }
  if (value !== undefined && rule.pattern && !rule.pattern.regex.test(value)) {
    throw new OepError('OEP_ERR_USAGE', `"${value}" is not a valid value for ${key}; use ${rule.pattern.expected}.`);
  }
  return key;
}

export async function openSettings(env: NodeJS.ProcessEnv = process.env): Promise<UserSettings> {
  const { default: Conf } = await import('conf');
  const defaults = Object.fromEntries(Object.entries(SETTING_RULES).map(([key, rule]) => [key, rule.default])) as unknown as Settings;
  const schema = Object.fromEntries(
    Object.entries(SETTING_RULES).map(([key, rule]: [string, SettingRule]) => [
      key,
      rule.values
        ? { type: 'string', enum: [...rule.values], default: rule.default }
        : { type: 'string', ...(!rule.optional && { minLength: 1 }), default: rule.default, ...(rule.pattern && { pattern: rule.pattern.regex.source }) },
    ]),
  );
  // Private whatever the umask: conf would make the folder 0777 and the file 0666 less the umask.
  const home = resolveOepHome(env);
  ensureHome(home);
  // conf writes through `atomically`, which resolves a symbolic link and replaces (and chmods) the
  // file it leads to: a link is refused before conf reads or writes (on opening, which may write
  // the defaults, and before each change). In a home only this user can write (ensureHome), only
  // this user or root could have made one.
  const file = join(home, SETTINGS_FILE_NAME);
  checkNotLink(file);
  const store = new Conf<Settings>({
    cwd: home,
    configFileMode: 0o600,
    configName: SETTINGS_FILE_NAME.replace(/\.json$/, ''),
    defaults,
    schema: schema as never,
    // A hand-edited file with a bad value should not lock the user out of oep.
    clearInvalidConfig: true,
  });
  return {
    path: store.path,
    get: (key) => store.get(key),
    set: (key, value) => {
      checkNotLink(file);
      store.set(checkSetting(key, value), value as never);
    },
    reset: (key) => {
      checkNotLink(file);
      store.reset(checkSetting(key));
    },
    all: () => ({ ...defaults, ...store.store }),
  };
}
