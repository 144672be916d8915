import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeInterpreter, missingModuleHint, missingModuleOf, processRuntimeNotice, type PythonInterpreter } from '../../src/model/process-interpreter.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { deploymentSpec } from './docker-fixtures.js';

const SYSTEM: PythonInterpreter = { configured: 'python3', source: 'default', executable: '/usr/bin/python3', version: '3.11.2' };
const VENV: PythonInterpreter = { configured: '/home/ada/venv/bin/python', source: 'OEP_PYTHON', executable: '/home/ada/venv/bin/python', version: '3.12.1' };

function spec(environment: DeploymentSpec['environment']): DeploymentSpec {
  return deploymentSpec({ code_configuration: { code: '/src/app', scoring_script: 'score.py' }, environment });
}

describe('the interpreter of the process runtime', () => {
  it('is named by its path and version; a wrapper by what it runs; one that cannot run as configured', () => {
    assert.equal(describeInterpreter(SYSTEM), '/usr/bin/python3 (Python 3.11.2)');
    assert.equal(describeInterpreter(VENV), '/home/ada/venv/bin/python (Python 3.12.1)');
    assert.equal(
      describeInterpreter({ configured: '/opt/bin/py-wrapper', source: 'default', executable: '/usr/bin/python3', version: '3.11.2' }),
      '/opt/bin/py-wrapper (/usr/bin/python3, Python 3.11.2)',
    );
    assert.equal(describeInterpreter({ configured: '/nonexistent/python3', source: 'default' }), '/nonexistent/python3');
  });

  it('the notice of a create or update: the interpreter, what of the environment is not used, how to choose another', () => {
    assert.equal(
      processRuntimeNotice(spec({ image: 'python:3.11' }), SYSTEM),
      'deployment blue runs on the process runtime with /usr/bin/python3 (Python 3.11.2): the environment\'s image python:3.11 is not used (--runtime docker uses it). Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (or oep config set python /path/to/python3, then update)',
    );
    assert.equal(
      processRuntimeNotice(spec({ image: 'python:3.11', conda_file: '/src/conda.yml' }), SYSTEM),
      'deployment blue runs on the process runtime with /usr/bin/python3 (Python 3.11.2): the environment\'s image python:3.11 and conda file /src/conda.yml are not used (--runtime docker uses them). Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (or oep config set python /path/to/python3, then update)',
    );
    assert.equal(
      processRuntimeNotice(spec({ build: { path: '/src/docker', dockerfile_path: 'Dockerfile' } }), VENV),
      'deployment blue runs on the process runtime with /home/ada/venv/bin/python (Python 3.12.1): the environment\'s build context /src/docker is not used (--runtime docker uses it). ' +
        'Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (an update without OEP_PYTHON uses oep config get python)',
    );
    assert.equal(
      processRuntimeNotice(spec('azureml:my-env:3'), SYSTEM),
      'deployment blue runs on the process runtime with /usr/bin/python3 (Python 3.11.2): the environment azureml:my-env:3 is not used. Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (or oep config set python /path/to/python3, then update)',
    );
    assert.equal(
      processRuntimeNotice(spec(undefined), SYSTEM),
      'deployment blue runs on the process runtime with /usr/bin/python3 (Python 3.11.2). Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (or oep config set python /path/to/python3, then update)',
    );
  });

  it('finds the missing module in the error of a failed import, and nothing in other errors', () => {
    assert.equal(missingModuleOf("ModuleNotFoundError: No module named 'joblib'"), 'joblib');
    assert.equal(missingModuleOf("the scoring script could not be loaded: ModuleNotFoundError: No module named 'sklearn.ensemble'"), 'sklearn.ensemble');
    assert.equal(missingModuleOf('ImportError: No module named yaml'), 'yaml');
    assert.equal(missingModuleOf("ImportError: cannot import name 'thing' from 'joblib'"), undefined);
    assert.equal(missingModuleOf('RuntimeError: model file weights.bin is missing'), undefined);
  });

  it('the hint of a missing module: the interpreter, how to install into it or choose another, the image that is not used', () => {
    assert.equal(
      missingModuleHint(spec({ image: 'python:3.11' }), 'joblib', SYSTEM),
      'The process runtime ran deployment blue with /usr/bin/python3 (Python 3.11.2), which cannot import joblib. ' +
        'Install it there: "/usr/bin/python3 -m pip install joblib" (on Debian and Ubuntu: "apt install python3-joblib"), ' +
        'or use an interpreter that has it: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (or oep config set python /path/to/python3, then update). ' +
        'The process runtime does not use the environment\'s image python:3.11; --runtime docker uses it. ' +
        'See the whole log with: oep deployment get-logs -n blue -e ep',
    );
    // Import names that are not the package's name; no apt outside the system's interpreter; no image, no word of docker.
    assert.equal(
      missingModuleHint(spec(undefined), 'sklearn.ensemble', VENV),
      'The process runtime ran deployment blue with /home/ada/venv/bin/python (Python 3.12.1), which cannot import sklearn. ' +
        'Install it there: "/home/ada/venv/bin/python -m pip install scikit-learn", ' +
        'or use an interpreter that has it: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e ep (an update without OEP_PYTHON uses oep config get python). ' +
        'See the whole log with: oep deployment get-logs -n blue -e ep',
    );
    assert.match(missingModuleHint(spec({ image: 'x' }), 'yaml', SYSTEM), /"\/usr\/bin\/python3 -m pip install PyYAML" \(on Debian and Ubuntu: "apt install python3-yaml"\)/);
  });
});
