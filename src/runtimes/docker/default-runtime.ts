import type { RuntimeChoice } from '../../model/runtime-kind.js';
import type { RuntimeKind } from '../../state/types.js';
import type { EmitProgress } from '../types.js';
import type { DockerEngine } from './engine.js';

/** How long `auto` waits for the engine before settling on the process runtime. */
export const AUTO_PING_MS = 1000;

/**
 * What a deployment without --runtime runs on: the user's setting, where `auto` means docker when
 * an engine answers quickly, else process with a one-line notice saying why.
 */
export async function chooseDefaultRuntime(preference: RuntimeChoice, engine: DockerEngine, emit: EmitProgress): Promise<RuntimeKind> {
  if (preference !== 'auto') return preference;
  if (await engine.answers(AUTO_PING_MS)) return 'docker';
  emit({ phase: 'notice', message: `no Docker engine answered (${engine.describe()}): using the process runtime` });
  return 'process';
}
