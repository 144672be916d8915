import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from '../../src/cli/commander.js';
import type { CliContext } from '../../src/cli/context.js';
import { buildProgram, main, programFor, TOP_LEVEL_COMMANDS } from '../../src/cli/main.js';

/** A context whose output is kept; nothing here reaches the daemon (the client getter fails the test). */
function captureContext(): CliContext & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    env: {},
    cwd: '/',
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    stdin: process.stdin,
    home: '/nonexistent/oep-home',
    get client(): never {
      return assert.fail('the daemon client was used');
    },
    confirm: async () => assert.fail('a question was asked'),
    interrupt: new AbortController().signal,
    claimInterrupt: () => undefined,
    out: () => out,
    err: () => err,
  };
}

/** Every help text of a command and its subcommands, as `--help` prints them. */
function helpOf(command: Command, ctx: ReturnType<typeof captureContext>): string {
  const before = ctx.out().length;
  const walk = (current: Command): void => {
    current.outputHelp();
    current.commands.forEach(walk);
  };
  walk(command);
  return ctx.out().slice(before);
}

/** The CLI loads only the top-level command a command line names (start-up time, issue 26). */
describe('the program a command line needs', () => {
  it('names each top-level command as the whole program has it, in the same order', async () => {
    const full = await buildProgram(captureContext());
    assert.equal(full.commands.length, TOP_LEVEL_COMMANDS.length);
    for (const [index, entry] of TOP_LEVEL_COMMANDS.entries()) {
      const command = full.commands[index]!;
      assert.deepEqual(entry.names, [command.name(), ...command.aliases()]);
    }
  });

  it('holds only the named verb of a noun, with the same help as in the whole program', async () => {
    const full = await buildProgram(captureContext());
    for (const entry of TOP_LEVEL_COMMANDS) {
      const whole = full.commands.find((command) => command.name() === entry.names[0])!;
      // A command of its own (validate, dashboard) or one with a level between (keyvault secret).
      if (whole.commands.length === 0 || whole.commands.some((verb) => verb.commands.length > 0)) continue;
      for (const verb of whole.commands) {
        const ctx = captureContext();
        const program = await programFor(ctx, [entry.names.at(-1)!, verb.name(), '--some-flag']);
        const noun = program.commands[0]!;
        assert.deepEqual(noun.commands.map((command) => command.name()), [verb.name()], `oep ${entry.names.at(-1)} ${verb.name()}`);
        assert.equal(noun.commands[0]!.helpInformation(), verb.helpInformation(), `oep ${entry.names[0]} ${verb.name()} --help`);
      }
    }
  });

  it('holds only the named command, with the same help as in the whole program', async () => {
    for (const entry of TOP_LEVEL_COMMANDS) {
      for (const name of entry.names) {
        const ctx = captureContext();
        const program = await programFor(ctx, [name, 'some-verb', '--some-flag']);
        assert.deepEqual(
          program.commands.map((command) => command.name()),
          [entry.names[0]],
          `oep ${name}`,
        );
        const full = (await buildProgram(ctx)).commands.find((command) => command.name() === entry.names[0])!;
        assert.equal(helpOf(program.commands[0]!, ctx), helpOf(full, ctx), `oep ${name} --help`);
      }
    }
  });

  it('is the whole program when the command line names no command', async () => {
    const all = (await buildProgram(captureContext())).commands.map((command) => command.name());
    for (const argv of [[], ['--help'], ['-v'], ['help', 'endpoint'], ['endpont', 'list'], ['-h', 'endpoint']]) {
      const program = await programFor(captureContext(), argv);
      assert.deepEqual(
        program.commands.map((command) => command.name()),
        all,
        `oep ${argv.join(' ')}`,
      );
    }
  });

  it('answers usage errors and help in-process as the whole program did', async () => {
    const unknown = captureContext();
    assert.equal(await main(['endpoint', 'list', '--bogus'], unknown), 2);
    assert.equal(unknown.err(), "error: unknown option '--bogus'\n(OEP_ERR_USAGE)\n");

    const typo = captureContext();
    assert.equal(await main(['endpont', 'list'], typo), 2);
    assert.match(typo.err(), /^error: unknown command 'endpont'\n\(Did you mean endpoint\?\)\n/);

    const help = captureContext();
    assert.equal(await main(['--help'], help), 0);
    for (const name of TOP_LEVEL_COMMANDS.map((entry) => entry.names[0]!)) assert.match(help.out(), new RegExp(`^  ${name}\\b`, 'm'));
  });
});
