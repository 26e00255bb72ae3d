#!/usr/bin/env node
// caisson: start, follow, list and cancel container actions from a terminal, and run a worker.
// The commands are in program.ts; this entry turns what they end with into output and an exit code
// (exit-codes.ts: 0 DONE, the container's code, 125 for caisson's own failures).
import { readFileSync, existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidSpecError } from '../spec/action.js';
import { err } from './connect.js';
import { EXIT } from './exit-codes.js';
import { buildProgram, HelpShown, UsageFailure } from './program.js';
import { UsageError } from './spec-from-flags.js';
import { usageLine } from './usage-errors.js';

// The AWS SDK's notice about Node versions is for developers, not for users of this command.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning'))
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

/** package.json's version: next to build/ when built, next to cli/ when run from source. */
function version(): string {
  for (const path of ['../../package.json', '../package.json']) {
    const url = new URL(path, import.meta.url);
    if (existsSync(url)) return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

const program = buildProgram(version());
/** The command whose action runs: a usage mistake found inside it points to its help. */
let running: Command = program;
program.hook('preAction', (_root, actionCommand) => {
  running = actionCommand;
});

function exitCodeOf(error: unknown): number {
  if (error instanceof HelpShown) return EXIT.done;
  if (error instanceof UsageFailure) {
    if (error.message) err(error.message);
  } else if (error instanceof UsageError) err(usageLine(error.message, running));
  // An invalid spec names every problem, one per line, under the first.
  else if (error instanceof InvalidSpecError) err(`caisson: ${error.message}`);
  else err(`caisson: ${(error as Error).message}`);
  return EXIT.cli;
}

program.parseAsync(process.argv.slice(2), { from: 'user' }).then(
  () => process.exit(process.exitCode ?? EXIT.done),
  (error: unknown) => process.exit(exitCodeOf(error)),
);
