/**
 * An MLflow no-code deployment folder for the e2e tests: a scikit-learn model written by the test
 * (test/fixtures/mlflow/make_model.py, cloudpickle, a column signature) beside an endpoint and a
 * deployment YAML with `model.type: mlflow_model` and no code_configuration.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMlflowModel, type Interpreter } from '../server/mlflow-support.js';

export const ENDPOINT = 'mlflow-e2e';

/** The model's function: y = 0.5 * age + 2 * bmi - bp + 10. */
export const predict = (age: number, bmi: number, bp: number): number => 0.5 * age + 2 * bmi - bp + 10;

export const SPLIT_REQUEST = { input_data: { columns: ['age', 'bmi', 'bp'], index: [0, 1], data: [[40, 25.0, 80.0], [61, 31.5, 95]] } };
export const SPLIT_PREDICTIONS = [predict(40, 25, 80), predict(61, 31.5, 95)];
export const WRONG_COLUMN_REQUEST = { input_data: { columns: ['age', 'bmi', 'blood_pressure'], index: [0], data: [[40, 25.0, 80.0]] } };
export const WRONG_COLUMN_MESSAGE = "Model is missing inputs ['bp']. Note that there were extra inputs: ['blood_pressure'].";

export interface MlflowProject {
  dir: string;
  endpointFile: string;
  /** Writes a deployment YAML (extra lines appended) and returns its path. */
  deployment(name: string, extra?: string[]): string;
  requestFile: string;
  remove(): void;
}

export async function mlflowProject(python: Interpreter): Promise<MlflowProject> {
  const dir = mkdtempSync(join(tmpdir(), 'oep-mlflow-e2e-'));
  await writeMlflowModel(python, join(dir, 'model'), ['--serialization', 'cloudpickle', '--signature', 'columns']);
  const endpointFile = join(dir, 'endpoint.yml');
  writeFileSync(endpointFile, `name: ${ENDPOINT}\nauth_mode: key\n`);
  const requestFile = join(dir, 'sample-request.json');
  writeFileSync(requestFile, JSON.stringify(SPLIT_REQUEST));
  return {
    dir,
    endpointFile,
    requestFile,
    deployment(name, extra = []) {
      const file = join(dir, `${name}.yml`);
      writeFileSync(
        file,
        [
          '$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json',
          `name: ${name}`,
          `endpoint_name: ${ENDPOINT}`,
          'model:',
          '  name: sklearn-diabetes',
          '  version: 1',
          '  path: model',
          '  type: mlflow_model',
          'instance_type: Standard_DS3_v2',
          'instance_count: 1',
          ...extra,
          '',
        ].join('\n'),
      );
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function post(url: string, body: unknown, key: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
