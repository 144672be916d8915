// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { readFileSync } = process.getBuiltinModule('node:fs');
const { join } = process.getBuiltinModule('node:path');
import { PACKAGE_ROOT } from './state/paths.js';

/** oep's version, from package.json. */
export const OEP_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
