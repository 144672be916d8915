import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeLaunchConfiguration } from '../../src/engine/debug-launch.js';
import { OepError } from '../../src/errors.js';
import { LaunchJsonError, mergeLaunchConfiguration } from '../../src/model/launch-json.js';

const OURS = { name: 'oep: blue (ep)', type: 'debugpy', request: 'attach', connect: { host: '127.0.0.1', port: 5678 } };

/** Strips comments and trailing commas, as VS Code's reader tolerates them, to check the result parses. */
function parseJsonc(text: string): { version?: string; configurations: { name: string }[] } {
  const stripped = text.replace(/("(?:[^"\\\n]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (match, string: string | undefined) => string ?? '');
  return JSON.parse(stripped.replace(/,(\s*[}\]])/g, '$1')) as { configurations: { name: string }[] };
}

describe('mergeLaunchConfiguration', () => {
  it('no file: a new launch.json with version 0.2.0 and the configuration', () => {
    assert.equal(
      mergeLaunchConfiguration(undefined, { name: 'a' }),
      '{\n  "version": "0.2.0",\n  "configurations": [\n    {\n      "name": "a"\n    }\n  ]\n}\n',
    );
  });

  it('keeps other configurations and comments byte for byte, appending after the last one', () => {
    const before = [
      '{',
      '  // Use IntelliSense to learn about possible attributes.',
      '  "version": "0.2.0",',
      '  "configurations": [',
      '    {',
      '      "name": "Python: Current File", // mine',
      '      "type": "debugpy",',
      '      "request": "launch",',
      '      "program": "${file}"',
      '    }',
      '    /* keep me */',
      '  ]',
      '}',
      '',
    ].join('\n');
    const after = mergeLaunchConfiguration(before, OURS);
    assert.ok(after.startsWith(before.slice(0, before.indexOf('    }\n    /* keep me */') + 5)), after);
    assert.ok(after.includes('/* keep me */'));
    assert.ok(after.includes('// mine'));
    assert.deepEqual(parseJsonc(after).configurations.map((configuration) => configuration.name), ['Python: Current File', 'oep: blue (ep)']);
    assert.match(after, /\},\n    \{\n      "name": "oep: blue \(ep\)",\n      "type": "debugpy",/);
  });

  it('replaces only its own configuration (by name), in place', () => {
    const before = '{\n  "configurations": [\n    { "name": "oep: blue (ep)", "port": 1 }, // old one\n    { "name": "other" },\n  ],\n}\n';
    const after = mergeLaunchConfiguration(before, OURS);
    assert.equal(after.split('// old one').length, 2);
    assert.ok(after.includes('{ "name": "other" },\n  ],\n}\n'), 'the rest is unchanged, trailing commas too');
    const parsed = parseJsonc(after);
    assert.deepEqual(parsed.configurations.map((configuration) => configuration.name), ['oep: blue (ep)', 'other']);
    assert.deepEqual(parsed.configurations[0], OURS);
    // Writing it again changes nothing.
    assert.equal(mergeLaunchConfiguration(after, OURS), after);
  });

  it('a trailing comma after the last configuration stays valid', () => {
    const after = mergeLaunchConfiguration('{"configurations": [{"name": "x"},]}', OURS);
    assert.deepEqual(parseJsonc(after).configurations.map((configuration) => configuration.name), ['x', 'oep: blue (ep)']);
  });

  it('after a one-line configuration and its trailing comma: that line stays, ours is last with no comma', () => {
    const before = '{\n  "configurations": [\n    { "name": "mine", "request": "launch" },\n  ]\n}\n';
    assert.equal(
      mergeLaunchConfiguration(before, { name: 'a' }),
      '{\n  "configurations": [\n    { "name": "mine", "request": "launch" },\n    {\n      "name": "a"\n    }\n  ]\n}\n',
    );
  });

  it('an empty list, or no list at all, gets one', () => {
    assert.deepEqual(parseJsonc(mergeLaunchConfiguration('{\n  "configurations": []\n}\n', OURS)).configurations, [OURS]);
    const added = mergeLaunchConfiguration('{\n  "version": "0.2.0" // comment\n}\n', OURS);
    assert.ok(added.includes('// comment'));
    assert.deepEqual(parseJsonc(added), { version: '0.2.0', configurations: [OURS] });
  });

  it("follows the file's line ends and tab indentation, and keeps its byte order mark", () => {
    const before = '\ufeff{\r\n\t"configurations": [\r\n\t\t{ "name": "other" }\r\n\t]\r\n}\r\n';
    const after = mergeLaunchConfiguration(before, { name: 'a' });
    assert.equal(after, '\ufeff{\r\n\t"configurations": [\r\n\t\t{ "name": "other" },\r\n\t\t{\r\n\t\t\t"name": "a"\r\n\t\t}\r\n\t]\r\n}\r\n');
  });

  it('says what is wrong and on which line', () => {
    assert.throws(() => mergeLaunchConfiguration('{\n  "version": "0.2.0"\n  /* never closed', OURS), /a \/\* comment is never closed \(line 3\)/);
    assert.throws(() => mergeLaunchConfiguration('{\n  "version" "0.2.0"\n}', OURS), /expected ":" after a property name \(line 2\)/);
    assert.throws(() => mergeLaunchConfiguration('{\n  "a": "\\q"\n}', OURS), /a string has a bad escape \(line 2\)/);
  });

  it('a file it cannot read is an error, never rewritten', () => {
    assert.throws(() => mergeLaunchConfiguration('{ "configurations": [ { "name": "x" } ', OURS), LaunchJsonError);
    assert.throws(() => mergeLaunchConfiguration('[]', OURS), /does not hold a JSON object/);
    assert.throws(() => mergeLaunchConfiguration('{"configurations": {}}', OURS), /"configurations" is not a list/);
  });
});

describe('writeLaunchConfiguration', () => {
  it('writes .vscode/launch.json in the folder it is given, and leaves a broken file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oep-launch-'));
    try {
      const file = await writeLaunchConfiguration(dir, OURS);
      assert.equal(file, join(dir, '.vscode', 'launch.json'));
      assert.deepEqual(parseJsonc(readFileSync(file, 'utf8')).configurations, [OURS]);
      const broken = '{ "configurations": [ oops ] }';
      mkdirSync(join(dir, '.vscode'), { recursive: true });
      writeFileSync(file, broken);
      await assert.rejects(writeLaunchConfiguration(dir, OURS), (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_USAGE' && /cannot be read as JSON with comments: unexpected "o" \(line 1\)/.test(error.message));
      assert.equal(readFileSync(file, 'utf8'), broken);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
