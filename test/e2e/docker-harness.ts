import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { prerequisiteSkip } from '../prerequisites.js';
import { eventually, TEST_RUN, type OepSandbox } from './harness.js';

export { eventually, TEST_RUN };

export const BASE_IMAGE = 'oep-test/python:bookworm';
export const SKLEARN_IMAGE = 'oep-test/python-sklearn:bookworm';

export const docker = new Docker();

/**
 * Why the docker e2e tests cannot run here, or false when they can. With CI=true a missing engine
 * or image is a failure, never a skip (prerequisiteSkip): CI must exercise the docker runtime.
 */
export async function dockerSkipReason(images: string[] = [BASE_IMAGE]): Promise<string | false> {
  let reason: string | false = false;
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000))]);
    for (const image of images) {
      try {
        await docker.getImage(image).inspect();
      } catch {
        reason = `the local image ${image} is missing (build it with images/build.sh all)`;
        break;
      }
    }
  } catch (error) {
    reason = `no Docker engine answers (${(error as Error).message}); start one with images/ensure-engine.sh`;
  }
  return prerequisiteSkip('docker e2e tests', reason);
}

/**
 * Containers of one sandbox, found by the label every oep container carries: its replicas, and
 * with `withSpares` also the warm spare the daemon keeps for a deployment's next start
 * (src/runtimes/docker/spare-container.ts), which runs no replica until a start takes it.
 */
export async function sandboxContainers(sandbox: OepSandbox, all = true, withSpares = false): Promise<Docker.ContainerInfo[]> {
  const containers = await docker.listContainers({ all, filters: { label: [`oep.home-path=${sandbox.home}`] } });
  return withSpares ? containers : containers.filter((container) => !isWaitingSpare(container, sandbox.home));
}

/**
 * A container made as a spare (label `oep.spare`) that no start has taken: a taken one has the
 * record its take wrote under the home's run folder (labels cannot change once it runs).
 */
export function isWaitingSpare(container: Docker.ContainerInfo, home: string): boolean {
  const labels = container.Labels ?? {};
  if (labels['oep.spare'] === undefined) return false;
  return !existsSync(join(home, 'run', labels['oep.endpoint'] ?? '', labels['oep.deployment'] ?? '', 'spares', `${container.Id.slice(0, 12)}.json`));
}

/**
 * oep containers of this test run whose OEP_HOME no longer exists: leaked by a sandbox that is
 * gone. Other runs' containers on a shared engine are none of this run's business.
 */
export async function orphanContainers(): Promise<Docker.ContainerInfo[]> {
  const labelled = await docker.listContainers({ all: true, filters: { label: ['oep.home', `oep.test-run=${TEST_RUN}`] } });
  return labelled.filter((container) => {
    const home = container.Labels['oep.home-path'];
    return !home || !existsSync(home);
  });
}

/**
 * Stops the sandbox's daemon (which removes its containers) and then force-removes any container
 * of the sandbox that is still there, so a failed test never leaves containers for the next one.
 * Returns the names of those leftovers, for the test to assert there were none.
 */
export async function closeDockerSandbox(sandbox: OepSandbox): Promise<string[][]> {
  await sandbox.close();
  const left = await sandboxContainers(sandbox, true, true).catch(() => []);
  for (const container of left) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
  return left.map((container) => container.Names);
}

/** Removes image tags this run built, quietly; never an image another run or CI built. */
export async function removeImages(tags: string[]): Promise<void> {
  for (const tag of tags) {
    const info = await docker.getImage(tag).inspect().catch(() => undefined);
    if (info?.Config?.Labels?.['oep.test-run'] === TEST_RUN) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
}

/** A copy of a folder in a temporary directory, so tests can edit it. */
export function copyToTemp(source: string): { dir: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'oep-fixture-'));
  const dir = join(root, 'copy');
  cpSync(source, dir, { recursive: true });
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Kills the sandbox's daemon with SIGKILL, as a crash would, and waits until it is gone. */
export async function killDaemon(sandbox: OepSandbox): Promise<number> {
  const pid = Number((await sandbox.ok(['daemon', 'status', '--query', 'pid', '-o', 'tsv'])).trim());
  process.kill(pid, 'SIGKILL');
  // Until its parent reaps it, a killed process still holds the daemon's start lock.
  await eventually('the killed daemon to be reaped', async () => (existsSync(`/proc/${pid}`) ? undefined : true), 20_000);
  return pid;
}

/** What `runPublished` adds to `docker run`: more labels, an env file, the environment docker runs in. */
export interface RunPublishedOptions {
  /** `key=value` labels besides this run's `oep.test-run` (which the harness's clean-up finds). */
  labels?: string[];
  /** `--env-file`: the values a built image takes from the caller's environment. */
  envFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * `docker run -d` of a test image with its `port` published on 127.0.0.1 only and this run's label,
 * as a user runs the image `oep deployment build` made. Returns the container id and its URL; the
 * caller removes the container (by id or by label).
 */
export async function runPublished(image: string, port: number, options: RunPublishedOptions = {}): Promise<{ id: string; url: string }> {
  const run = promisify(execFile);
  const labels = (options.labels ?? []).flatMap((label) => ['--label', label]);
  const envFile = options.envFile ? ['--env-file', options.envFile] : [];
  const args = ['run', '-d', '--label', `oep.test-run=${TEST_RUN}`, ...labels, '-p', `127.0.0.1::${port}`, ...envFile, image];
  const { stdout } = await run('docker', args, { env: options.env ?? process.env });
  const id = stdout.trim();
  const { stdout: published } = await run('docker', ['port', id, `${port}/tcp`]);
  const address = published.split('\n').find((line) => line.startsWith('127.0.0.1:'));
  assert.ok(address, `port ${port} published on 127.0.0.1: ${published}`);
  return { id, url: `http://${address}` };
}

/**
 * fetch with a deadline kept by a ref'd timer. A connection to a port Docker publishes for a
 * container that does not listen yet can stay unanswered, and undici's socket does not keep the
 * process alive: without the timer the test runner would see an empty event loop.
 */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 2000): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}
