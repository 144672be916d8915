import type Dockerode from 'dockerode';
import { OepError } from '../../errors.js';

/**
 * `--local-enable-gpu` needs a GPU-capable runtime on the engine (the NVIDIA container toolkit
 * registers "nvidia"). Checked before anything is created, so the error is about the machine,
 * not about a container that failed to start.
 */
export async function checkGpuRuntime(docker: Dockerode, where: string): Promise<void> {
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown>; DefaultRuntime?: string };
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.includes('nvidia') || info.DefaultRuntime === 'nvidia') return;
  throw new OepError('OEP_ERR_GPU_UNAVAILABLE', `--local-enable-gpu was given, but the Docker engine at ${where} has no GPU runtime (it has: ${runtimes.join(', ') || 'none'}).`, {
    hint: 'Install the NVIDIA Container Toolkit and restart Docker ("nvidia-ctk runtime configure --runtime=docker"), or drop --local-enable-gpu.',
  });
}
