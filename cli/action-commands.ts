// `caisson status | logs | result | cancel | list`: one action by its id, or the actions Temporal
// knows of. One function per command; each adds itself to the program.
import type { Command } from 'commander';
import type { ActionSummary, LogOptions, StatusView } from '../client/index.js';
import { followTail } from '../client/follow.js';
import { formatDuration } from '../spec/quantity.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { NO_BUCKET_NOTE, printLog } from './log-printer.js';
import { addFormatOptions, formatOf, renderList, serialized, type Columns, type Format } from './output-format.js';
import { printResult } from './print-result.js';
import { phasesOn } from './progress.js';
import { labelsFlag, UsageError } from './spec-from-flags.js';
import { many } from './options.js';
import { labelPairs } from '../spec/labels.js';
import { humanAge } from './table.js';
import { err, out, uiLink, withClient } from './connect.js';
import { watch, type Frame } from './watch.js';
import { examples } from './help-text.js';
import { printContainerLog } from './container-log-printer.js';
import { MAIN_CONTAINER } from '../spec/containers.js';

const FINAL = ['DONE', 'FAILED', 'CANCELED'];

function parseSince(text: string, now = Date.now()): Date {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--since ${text}: use a duration like 2h or an ISO date`);
  return date;
}

export function positiveInteger(flag: string, text: string | undefined, allowZero = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new UsageError(`${flag} takes a ${allowZero ? 'whole number' : 'positive whole number'}, not "${text}"`);
  return n;
}

function statusLines(status: StatusView, format: Format): string[] {
  const text = serialized(status, format);
  if (text !== undefined) return [text];
  if (format === 'name') return [status.actionId];
  const lines = [
    `${status.actionId}  ${status.phase}${status.waitingFor ? ` (waiting for ${status.waitingFor})` : ''}`,
    `  image ${status.image}   host ${status.host ?? '-'}   attempt ${status.attempt}   exit code ${status.exitCode ?? '-'}`,
    `  steps ${status.timings.map((t) => `${t.step} ${formatDuration(t.ms)}`).join(', ') || '-'}`,
    ...(status.replicas ?? []).map((r) => `  replica ${r.rank}  ${r.phase}  on ${r.host}  ${r.actionId}`),
  ];
  if (format === 'wide')
    lines.push(`  placements ${status.placements}   reason ${status.reason ?? '-'}   ${uiLink(status.actionId) ?? ''}`);
  return lines;
}

export function statusCommand(program: Command): void {
  addFormatOptions(
    program
      .command('status')
      .description('phase, host, attempt, exit code and step timings of an action')
      .argument('<id>', 'the action id'),
  )
    .option('-w, --watch', 'print again on every change until it ends (Ctrl-C stops)')
    .addHelpText('after', examples('caisson status ID', 'caisson status ID -o yaml', 'caisson status ID --watch'))
    .action(async (id: string, opts: { output?: string; json?: boolean; watch?: boolean }) => {
      const format = formatOf(opts);
      await withClient(async (client) => {
        const handle = client.attach(id);
        if (!opts.watch) return statusLines(await handle.status(), format).forEach(out);
        await watch(async (): Promise<Frame> => {
          const status = await handle.status();
          // The step timings tick while it runs: a change is a new phase, host, attempt or exit code.
          const lines = statusLines(status, format);
          const key = JSON.stringify({ ...status, timings: status.timings.map((t) => t.step) });
          return { lines: [lines.join('\n')], keys: [key], final: FINAL.includes(status.phase) };
        }, out);
      });
    });
}

interface LogsOptions {
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  attempt?: string;
  previous?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  container?: string;
  replica?: string;
}

export function logsCommand(program: Command): void {
  program
    .command('logs')
    .description("an action's log: the container's stdout on stdout, its stderr on stderr")
    .argument('<id>', 'the action id')
    .option('-f, --follow', 'keep printing until the action ends')
    .option('--tail <n>', 'only the last N lines')
    .option('--since <when>', 'only lines since a duration ago (10m, 2h) or an ISO date')
    .option('-t, --timestamps', "each line's time first")
    .option('--attempt <n>', 'the log of attempt N (a retried action has several)')
    .option('-p, --previous', 'the attempt before the last')
    .option('--stdout', 'only the stdout lines')
    .option('--stderr', 'only the stderr lines')
    .option(
      '-c, --container <name>',
      "a pod's container (spec.containers; main is the top-level one): not live, printed once the action has ended",
    )
    .option('--replica <rank>', "a gang's replica (spec.replicas), by rank: its own action's log")
    .addHelpText(
      'after',
      examples(
        'caisson logs ID --follow',
        'caisson logs ID --replica 1 --follow',
        'caisson logs ID --tail 100 --since 10m --timestamps',
        'caisson logs ID -c db          # waits for the action to end: only the main container is live',
      ),
    )
    .action(async (given: string, opts: LogsOptions) => {
      const rank = opts.replica === undefined ? undefined : positiveInteger('--replica', opts.replica, true)!;
      const id = rank === undefined ? given : await withClient((c) => c.attach(given).replicaId(rank));
      if (opts.container !== undefined && opts.container !== MAIN_CONTAINER)
        return withClient((c) => printContainerLog(c.attach(id), opts.container!, opts));
      if (opts.attempt !== undefined && opts.previous)
        throw new UsageError('--attempt and --previous exclude each other');
      const options: LogOptions = {
        follow: opts.follow,
        tail: positiveInteger('--tail', opts.tail, true),
        since: opts.since ? parseSince(opts.since) : undefined,
        attempt: positiveInteger('--attempt', opts.attempt),
        streams:
          opts.stdout || opts.stderr
            ? [...(opts.stdout ? ['stdout' as const] : []), ...(opts.stderr ? ['stderr' as const] : [])]
            : undefined,
      };
      await withClient(async (c) => {
        const handle = c.attach(id);
        if (opts.previous) {
          const current = await handle.currentAttempt();
          if (current < 2) throw new UsageError(`--previous: action ${handle.actionId} has had only one attempt`);
          options.attempt = current - 1;
        }
        if (handle.canReadLogs)
          return printLog(handle, options, { marked: false, timestamps: Boolean(opts.timestamps) });
        err(NO_BUCKET_NOTE);
        if (opts.follow)
          await followTail(
            () => handle.logTail(),
            (lines) => lines.forEach((l) => out(l)),
            handle.result().catch(() => {}),
          );
        else (await handle.logTail()).forEach((l) => out(l));
      });
    });
}

export function resultCommand(program: Command): void {
  program
    .command('result')
    .description('wait for an action to end and print its result; exits as `caisson run` does')
    .argument('<id>', 'the action id')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('caisson result ID', 'caisson result ID --json | jq .artifacts'))
    .action(async (id: string, opts: { json?: boolean }) => {
      const result = await withClient(async (c) => {
        const handle = c.attach(id);
        const ended = handle.result();
        await phasesOn(process.stderr).follow(id, () => handle.status(), ended);
        return ended;
      });
      if (opts.json) out(JSON.stringify(result, null, 2));
      else printResult(result, out, uiLink(result.actionId));
      process.exitCode = exitCodeFor(result);
    });
}

export function cancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('stop an action; its output is still collected')
    .argument('<id>', 'the action id')
    .addHelpText('after', examples('caisson cancel ID'))
    .action(async (id: string) => {
      await withClient((c) => c.attach(id).cancel());
      err(`cancel requested for ${id}; its container stops and its output is still collected`);
    });
}

const ACTION_COLUMNS: Columns<ActionSummary> = {
  header: ['ACTION', 'STATUS', 'IMAGE', 'AGE'],
  row: (r, now) => [r.actionId, r.status, r.image ?? '-', humanAge(now - r.startTime.getTime())],
  wide: {
    header: ['HOST', 'EXIT', 'DURATION', 'TEMPLATE', 'LABELS', 'STARTED'],
    row: (r, now) => [
      r.host ?? '-',
      r.exitCode === undefined ? '-' : String(r.exitCode),
      formatDuration((r.closeTime?.getTime() ?? now) - r.startTime.getTime()),
      r.template ?? '-',
      labelPairs(r.labels ?? {}).join(',') || '-',
      r.startTime.toISOString(),
    ],
  },
  name: (r) => r.actionId,
};

interface ListOptions {
  status?: string;
  image?: string;
  template?: string;
  schedule?: string;
  since?: string;
  label?: string[];
  limit?: string;
  output?: string;
  json?: boolean;
  watch?: boolean;
}

export function listCommand(program: Command): void {
  addFormatOptions(
    program
      .command('list')
      .alias('ls')
      .description('actions, newest first')
      .option('--status <status>', 'only PENDING, RUNNING, DONE, FAILED or CANCELED ones')
      .option('--image <image>', 'only those of this image')
      .option('--template <name@version>', 'only runs of this template')
      .option('--schedule <name>', 'only runs of this schedule')
      .option('--since <when>', 'only those started since a duration ago (10m, 2h) or an ISO date')
      .addOption(many('-l, --label <LABEL=VALUE,...>', 'only those carrying every one of these labels (repeatable)'))
      .option('--limit <n>', 'at most N'),
  )
    .option('-w, --watch', 'print again on every change (Ctrl-C stops)')
    .addHelpText(
      'after',
      examples(
        'caisson list --status FAILED --since 2h',
        'caisson list -l team=vision,exp=42 -o wide',
        'caisson list -o name | xargs -n1 caisson cancel',
        'caisson list --watch',
      ),
    )
    .action(async (opts: ListOptions) => {
      const format = formatOf(opts);
      const limit = positiveInteger('--limit', opts.limit);
      const since = opts.since;
      const labels = opts.label?.length ? labelsFlag('--label', opts.label) : undefined;
      // A relative --since moves with the clock: each look of --watch counts back from its own now.
      const query = () => ({
        status: opts.status,
        image: opts.image,
        template: opts.template,
        schedule: opts.schedule,
        since: since ? parseSince(since) : undefined,
        labels,
        limit,
      });
      await withClient(async (client) => {
        if (!opts.watch) return renderList(await client.list(query()), format, ACTION_COLUMNS).forEach(out);
        await watch(async () => {
          const rows = await client.list(query());
          const lines = renderList(rows, format, ACTION_COLUMNS);
          // Ages tick: a row changes when anything but its age does.
          const keys =
            format === 'table' || format === 'wide' ? ['header', ...rows.map((r) => JSON.stringify(r))] : lines;
          return { lines, keys };
        }, out);
      });
    });
}

export function cpCommandOf(program: Command): void {
  program
    .command('cp')
    .description('copy files an action kept from /out to the local disk (waits for the action to end)')
    .argument('<source>', 'ID:out/PATH: a file, a folder or a glob inside /out, or ID:out for all of it')
    .argument('<local>', 'the local file or folder')
    .addHelpText(
      'after',
      examples(
        'caisson cp ID:out/model.pt ./model.pt',
        'caisson cp ID:out/metrics/ ./metrics',
        "caisson cp 'ID:out/**/*.csv' ./csv",
        'caisson cp ID:out ./all   # again later: what is there whole is skipped',
      ) + '\nNeeds read access to the artifacts bucket (AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, …).',
    )
    .action(async (source: string, local: string) => {
      const { cpCommand } = await import('./cp-command.js');
      const code = await withClient((client) => cpCommand([source, local], client, err));
      if (code !== 0) process.exitCode = EXIT.cli;
    });
}
