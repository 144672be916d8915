import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A folder with an endpoint and deployments for the compare and dashboard tests. The scoring
 * script answers {"prediction": 2n, "id": ...}: `green` is 20 ms slower and answers 2n+1 when
 * n % 5 == 0; `id` is a fresh random id when RANDOM_ID is set (noise that every replica has).
 */
export function compareFixture(endpoint: string, options: { randomId?: boolean; blueReplicas?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'oep-compare-'));
  mkdirSync(join(dir, 'code'));
  writeFileSync(
    join(dir, 'code', 'score.py'),
    `import json, os, time, uuid
NAME = os.environ.get("DEPLOYMENT_LABEL", "unknown")
RANDOM_ID = os.environ.get("RANDOM_ID") == "1"
def init():
    pass
def run(raw_data):
    n = json.loads(raw_data)["n"]
    answer = {"prediction": n * 2, "model": "m"}
    if NAME == "green":
        time.sleep(0.02)
        if n % 5 == 0:
            answer["prediction"] = n * 2 + 1
    if RANDOM_ID:
        answer["id"] = uuid.uuid4().hex
    return answer
`,
  );
  writeFileSync(join(dir, 'endpoint.yml'), `name: ${endpoint}\nauth_mode: key\n`);
  for (const name of ['blue', 'green', 'twin']) {
    writeFileSync(
      join(dir, `${name}.yml`),
      `name: ${name}
endpoint_name: ${endpoint}
code_configuration:
  code: ./code
  scoring_script: score.py
environment:
  image: oep-test/python:bookworm
instance_type: Standard_DS3_v2
instance_count: ${name === 'blue' ? (options.blueReplicas ?? 2) : 1}
environment_variables:
  DEPLOYMENT_LABEL: ${name}
  RANDOM_ID: "${options.randomId ? 1 : 0}"
request_settings:
  max_concurrent_requests_per_instance: 8
readiness_probe:
  initial_delay: 1
  period: 1
`,
    );
  }
  return dir;
}
