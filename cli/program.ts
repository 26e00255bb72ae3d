// The `caisson` command tree: every command adds itself (one function each), so a new command is one
// line in COMMANDS. Usage mistakes end as UsageFailure (one line, exit 125), asked-for help and the
// version as HelpShown (exit 0); main.ts turns them into output and exit codes.
import { Argument, Command, CommanderError } from 'commander';
import {
  cancelCommand,
  cpCommandOf,
  listCommand,
  logsCommand,
  resultCommand,
  statusCommand,
} from './action-commands.js';
import { codecServerCommand } from './codec-server-command.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { out } from './connect.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { ENVIRONMENT_HELP, examples } from './help-text.js';
import { hostCommand } from './host-commands.js';
import { interlinkCommand } from './interlink-command.js';
import { runCommand } from './run-command.js';
import { scheduleCommand } from './schedule-commands.js';
import { templateCommand } from './template-commands.js';
import { usageLine } from './usage-errors.js';

/** A usage mistake, already worded as the one line to print. */
export class UsageFailure extends Error {}

/** Help or the version was printed because it was asked for: nothing failed. */
export class HelpShown extends Error {}

function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker for this host (configured by environment variables: see docs/operating.md)')
    .option('--check', 'check what the worker needs (engine, S3, Temporal, disks, policy), print each, and exit')
    .addHelpText(
      'after',
      examples('CAISSON_ARTIFACTS_BUCKET=caisson caisson worker', 'caisson worker --check   # exit 0 only if all pass'),
    )
    .action(async (opts: { check?: boolean }) => {
      // Imported on use: no other command loads the worker's modules.
      const { loadWorkerConfig } = await import('../worker/config.js');
      const config = loadWorkerConfig();
      if (opts.check) {
        const { checkWorker, formatChecks } = await import('../worker/check.js');
        const checks = await checkWorker(config);
        out(formatChecks(checks));
        if (checks.some((c) => !c.ok)) process.exitCode = EXIT.cli;
        return;
      }
      const { runWorker } = await import('../worker/run-worker.js');
      await runWorker(config);
    });
}

function completionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands and flags)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      examples('source <(caisson completion bash)', 'caisson completion zsh > "${fpath[1]}/_caisson"'),
    )
    .action((shell: 'bash' | 'zsh') => out((shell === 'bash' ? bashCompletion : zshCompletion)(program).trimEnd()));
}

/** Every command, in the order help lists them. */
const COMMANDS: ((program: Command) => void)[] = [
  runCommand,
  statusCommand,
  logsCommand,
  resultCommand,
  cancelCommand,
  cpCommandOf,
  listCommand,
  hostCommand,
  templateCommand,
  scheduleCommand,
  workerCommand,
  interlinkCommand,
  codecServerCommand,
  completionCommand,
];

/** Usage errors become UsageFailure, help and version HelpShown, in every command of the tree. */
function raiseInsteadOfExit(cmd: Command): void {
  cmd.exitOverride((e: CommanderError) => {
    if (e.exitCode === 0) throw new HelpShown(e.code);
    // The help commander printed for a command that needs a subcommand already says what to type.
    if (e.code === 'commander.help') throw new UsageFailure('');
    throw new UsageFailure(usageLine(e.message, cmd));
  });
  cmd.configureOutput({ outputError: () => {} });
  cmd.commands.forEach(raiseInsteadOfExit);
}

export function buildProgram(version: string): Command {
  const program = new Command('caisson')
    .description(
      'Durable container actions on Temporal: run Docker images with limits and a deadline, keep /out in S3.',
    )
    .version(version, '--version', 'print the version')
    .addHelpText(
      'after',
      examples(
        'caisson run -m 64Mi registry.example/busybox:1 -- echo hi',
        'caisson list --status FAILED --since 2h',
        'caisson logs ID --follow',
      ) + `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}\n\nEvery command has --help.`,
    );
  for (const add of COMMANDS) add(program);
  raiseInsteadOfExit(program);
  return program;
}
