import { OepError } from '../../../errors.js';
import type { ComputeFlag } from '../../../spec/compute.js';

/** The flags `compute create` and `update` share, as commander gives them (text). */
export interface ComputeSettingFlags {
  size?: string;
  minInstances?: string;
  maxInstances?: string;
  idleTimeBeforeScaleDown?: string;
  tier?: string;
  description?: string;
}

/** The same flags checked: numbers are whole numbers here, so a typo is a usage error before any work. */
export interface ComputeSettings {
  size?: string;
  minInstances?: number;
  maxInstances?: number;
  idleTimeBeforeScaleDown?: number;
  tier?: string;
  description?: string;
}

export function computeSettings(flags: ComputeSettingFlags): ComputeSettings {
  return {
    size: flags.size,
    minInstances: wholeNumber('--min-instances', flags.minInstances),
    maxInstances: wholeNumber('--max-instances', flags.maxInstances),
    idleTimeBeforeScaleDown: wholeNumber('--idle-time-before-scale-down', flags.idleTimeBeforeScaleDown),
    tier: flags.tier,
    description: flags.description,
  };
}

/** A flag that must be a whole number >= 0, or a usage error naming it. */
function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new OepError('OEP_ERR_USAGE', `${flag} must be a whole number >= 0, not "${text}".`);
  return Number(text);
}

/**
 * The settings as the spec layer takes them (one per key, with the flag as the user wrote it for
 * its problems), in az's order: the file's keys, then these, then --set.
 */
export function settingFlags(settings: ComputeSettings & { name?: string; type?: string; location?: string }): ComputeFlag[] {
  const given: [ComputeFlag['key'], string, string | number | undefined][] = [
    ['name', '--name', settings.name],
    ['type', '--type', settings.type],
    ['size', '--size', settings.size],
    ['min_instances', '--min-instances', settings.minInstances],
    ['max_instances', '--max-instances', settings.maxInstances],
    ['idle_time_before_scale_down', '--idle-time-before-scale-down', settings.idleTimeBeforeScaleDown],
    ['tier', '--tier', settings.tier],
    ['description', '--description', settings.description],
    ['location', '--location', settings.location],
  ];
  return given.filter((entry): entry is [ComputeFlag['key'], string, string | number] => entry[2] !== undefined).map(([key, flag, value]) => ({ key, value, label: `${flag} ${value}` }));
}
