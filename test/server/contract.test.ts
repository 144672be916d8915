/**
 * The contract between the daemon (src/) and oep's scoring server (server/) is written twice, once
 * per language: src/model/server-contract.ts and server/oep_server/contract.py. These tests fail as
 * soon as the two differ, or as soon as code on either side spells one of its values by hand
 * instead of taking it from its contract file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import * as contract from '../../src/model/server-contract.js';
import { PYTHON, REPO_ROOT } from './harness.js';

const SERVER_DIR = join(REPO_ROOT, 'server');
const TS_CONTRACT = 'src/model/server-contract.ts';
const PY_CONTRACT = 'server/oep_server/contract.py';

/** The Python contract's public constants (upper-case names), as the server imports them. */
function pythonContract(): Record<string, unknown> {
  const program = [
    'import json, sys',
    'sys.path.insert(0, sys.argv[1])',
    'import oep_server.contract as c',
    'print(json.dumps({k: v for k, v in vars(c).items() if k.isupper()}))',
  ].join('\n');
  const stdout = execFileSync(PYTHON, ['-c', program, SERVER_DIR], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** The TypeScript contract's exports with upper-case names. */
function typescriptContract(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(contract).filter(([name]) => /^[A-Z][A-Z0-9_]*$/.test(name)));
}

/** Every file under `folder` (relative to the repository) whose name ends with `extension`. */
function sourceFiles(folder: string, extension: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== '__pycache__') walk(path);
      else if (entry.isFile() && entry.name.endsWith(extension)) found.push(relative(REPO_ROOT, path));
    }
  };
  walk(join(REPO_ROOT, folder));
  return found.sort();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Where a contract value is written out by hand: as a whole quoted string ('x' or "x"), or for a
 * variable name as `env.NAME` (TypeScript's process.env.NAME). Names inside longer messages and
 * comments are fine.
 */
function handCopies(values: string[], files: string[]): string[] {
  const found: string[] = [];
  for (const value of values) {
    const quoted = escapeRegExp(value);
    const pattern = new RegExp(`(['"])${quoted}\\1|\\benv\\.${quoted}\\b`);
    for (const file of files) {
      const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        if (pattern.test(line)) found.push(`${file}:${index + 1}: ${value}`);
      });
    }
  }
  return found;
}

test('the TypeScript and Python contracts have the same names with the same values', () => {
  const ts = typescriptContract();
  const py = pythonContract();
  // Neither side may be empty, or agreeing would prove nothing.
  assert.equal(ts.EXIT_INIT_FAILED, 3);
  assert.equal(ts.REPLICA_SECRET_HEADER, 'x-oep-replica-secret');
  const onlyTs = Object.keys(ts).filter((name) => !(name in py));
  const onlyPy = Object.keys(py).filter((name) => !(name in ts));
  assert.deepEqual({ onlyInTypeScript: onlyTs, onlyInPython: onlyPy }, { onlyInTypeScript: [], onlyInPython: [] }, `${TS_CONTRACT} and ${PY_CONTRACT} name different constants`);
  assert.deepEqual(py, ts, `${TS_CONTRACT} and ${PY_CONTRACT} give different values`);
});

test('no source file spells a contract value but the contract files', () => {
  const values = Object.values(typescriptContract()).filter((value): value is string => typeof value === 'string');
  const files = [...sourceFiles('src', '.ts').filter((file) => file !== TS_CONTRACT), ...sourceFiles('server', '.py').filter((file) => file !== PY_CONTRACT)];
  assert.ok(files.includes('src/router/router.ts') && files.includes('server/oep_server/worker.py'), 'the scan must cover both sides');
  assert.deepEqual(handCopies(values, files), [], `take these from ${TS_CONTRACT} or ${PY_CONTRACT}`);
});
