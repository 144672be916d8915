import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import type { PythonInterpreter } from '../../src/model/process-interpreter.js';
import type { ReplicaHandle } from '../../src/runtimes/types.js';
import type { RuntimeKind } from '../../src/state/types.js';
import { bringUp } from '../../src/supervisor/replica-start.js';
import { deploymentSpec } from './docker-fixtures.js';

const PYTHON: PythonInterpreter = { configured: 'python3', source: 'default', executable: '/usr/bin/python3', version: '3.11.2' };

/** What oep's server writes when importing the scoring script fails (server/oep_server/script.py), then exit 3. */
const IMPORT_FAILED = [
  "oep-server: loading the entry script failed: ModuleNotFoundError: No module named 'joblib'",
  'Traceback (most recent call last):',
  '  File "/src/app/score.py", line 1, in <module>',
  '    import joblib',
  "ModuleNotFoundError: No module named 'joblib'",
  '',
].join('\n');

describe('bringUp: a replica whose script cannot import a module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oep-start-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A replica that wrote `log` and exited with code 3 before it was ready. */
  async function failedStart(runtime: RuntimeKind, log: string): Promise<OepError> {
    const logFile = join(dir, `${runtime}.log`);
    writeFileSync(logFile, log);
    const handle: ReplicaHandle = {
      id: 'quickstart/blue/0',
      // Nothing listens there: the probe fails until the exit is seen.
      target: { origin: 'http://127.0.0.1:1', scoringPath: '/score', readinessPath: '/', livenessPath: '/' },
      exited: Promise.resolve({ code: 3, signal: null }),
      // Only the process runtime chooses the interpreter, and says which.
      ...(runtime === 'process' && { interpreter: PYTHON }),
      stop: async () => undefined,
    };
    const spec = deploymentSpec({ endpoint_name: 'quickstart', code_configuration: { code: '/src/app', scoring_script: 'score.py' }, environment: { image: 'oep-test/python:bookworm' } });
    const error = await bringUp({
      request: { endpoint: 'quickstart', deployment: 'blue', replica: 0, spec, generation: 1, logFile, emit: () => undefined },
      launch: async () => handle,
      onHandle: () => undefined,
      cancelled: () => false,
      pollMs: 10,
      runtime,
    }).then(
      () => assert.fail('the start should fail'),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof OepError, String(error));
    return error;
  }

  it('process runtime: the hint names the interpreter that ran it, how to install into it or choose another, and the image it did not use', async () => {
    const error = await failedStart('process', IMPORT_FAILED);
    assert.equal(error.message, "Deployment blue failed in phase \"load\": the scoring script could not be loaded: ModuleNotFoundError: No module named 'joblib'");
    assert.equal(
      error.hint,
      'The process runtime ran deployment blue with /usr/bin/python3 (Python 3.11.2), which cannot import joblib. ' +
        'Install it there: "/usr/bin/python3 -m pip install joblib" (on Debian and Ubuntu: "apt install python3-joblib"), ' +
        'or use an interpreter that has it: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e quickstart (or oep config set python /path/to/python3, then update). ' +
        "The process runtime does not use the environment's image oep-test/python:bookworm; --runtime docker uses it. " +
        'See the whole log with: oep deployment get-logs -n blue -e quickstart',
    );
  });

  it('process runtime: a module missing in init() (a traceback, exit 3) gets the same hint', async () => {
    const error = await failedStart('process', `oep-server: init() failed\n${IMPORT_FAILED.split('\n').slice(1).join('\n')}`);
    assert.match(error.message, /^Deployment blue failed in phase "init": /);
    assert.match(error.hint!, /^The process runtime ran deployment blue with \/usr\/bin\/python3 \(Python 3\.11\.2\), which cannot import joblib\. /);
  });

  it('docker runtime (the image chose the interpreter): the hint stays the log', async () => {
    const error = await failedStart('docker', IMPORT_FAILED);
    assert.equal(error.hint, 'See the whole log with: oep deployment get-logs -n blue -e quickstart');
  });
});
