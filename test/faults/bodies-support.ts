import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/harness.js';

/**
 * The fault suite's endpoint (`faults`) and deployment (`big`): a stdlib scoring script that
 * answers with the length of the body, 8 requests in flight before 429, a 120 s request timeout,
 * and a `DB_URL` with a password in it.
 */
export const FAULTS_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'faults');
