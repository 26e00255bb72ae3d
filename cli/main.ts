#!/usr/bin/env node
// caisson: start, follow, list and cancel container actions from a terminal, and run a worker.
// Exit codes: 0 DONE; the container's exit code when it FAILED with one; 1 otherwise; 2 usage errors.
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import {
  ActionsClient,
  InvalidSpecError,
  type ActionHandle,
  type ActionResult,
  type LogLine,
  type LogOptions,
} from '../client/index.js';
import { followTail } from '../client/follow.js';
import { formatDuration } from '../spec/quantity.js';
import { actionUiLink } from '../common/text/ui-link.js';
import { loadWorkerConfig } from '../worker/config.js';
import { UsageError } from './spec-from-flags.js';
import { runRequest, SPEC_OPTIONS, specOf, splitCommand, type RunRequest } from './run-request.js';
import { readDataFile } from '../common/text/data-file.js';
import type { ArrayOptionsInput } from '../spec/array.js';
import { hostCommand } from './host-commands.js';
import { templateCommand } from './template-commands.js';
import { scheduleCommand } from './schedule-commands.js';
import { interlinkCommand } from './interlink-command.js';
import { codecServerCommand } from './codec-server-command.js';
import { DataFileError } from '../common/text/data-file.js';
import { TemplateError } from '../common/templates/templates.js';
import { ScheduleError } from '../client/schedules.js';

const USAGE = `usage:
  caisson run [flags] IMAGE [-- COMMAND ARGS...]   run an action, print its log and result
  caisson run -f SPEC.yaml [flags] [IMAGE] [-- COMMAND ARGS...]
                                   the spec from a file (YAML or JSON); flags and IMAGE override its fields
  caisson run NAME[@VERSION] [--input JSON | --input-file F] [--in FROM=TO]... [--set KEY=VALUE]... [--id ID] [--detach] [--json]
                                   run a template (a name has no "/"; an image always has its registry)
      --cpu N|Nm  --memory SIZE  --gpus N|all|ID,ID  --pids N  --timeout DURATION (one attempt's run)
      --deadline DURATION (the whole job: waiting, pulls, retries, every attempt)
      --out-disk SIZE  --tmp-disk SIZE (room for /out and /tmp_disk)  --log-size SIZE  --pull always|if-not-present|never
      --env K=V (repeatable)  --secret NAME (repeatable)  --network none|host
      --input JSON  --output text|json  --workdir DIR  --user USER  --collect always|on-success|never
      --artifacts-bucket B  --artifacts-prefix P  --source TEXT
      --require LABEL=VALUE  --prefer LABEL=VALUE (repeatable: hosts carrying these labels)
      --input-file F (JSON or YAML: the input)
      --array-count N | --array-items FILE (a list: one child each, its item as input)  --parallelism N  --max-failures N
           an array: N child actions ID-0 … ID-(N-1), each with ACTION_INDEX and ACTION_COUNT
      --in s3://BUCKET/KEY=/in/PATH | action:ID/PATH=/in/PATH (repeatable: data staged read-only under /in;
           a key or PATH ending in "/" brings every object under it)
      --id ID (attach if it exists)  --detach (print the id and return)  --json (only the result, as JSON)
  caisson schedule create NAME (--cron EXPR... | --every DURATION) [--timezone TZ] [--jitter DURATION]
      [--overlap skip|buffer-one|buffer-all|allow-all|cancel-other] [--catchup-window DURATION] [--paused] [--note TEXT]
      then the spec as for run: [flags] IMAGE [-- COMMAND...] | -f SPEC.yaml | --template NAME[@VERSION] [--input JSON] [--set K=V]
  caisson schedule update NAME [timing flags] [spec as for create]   change what is given, keep the rest
  caisson schedule list | show NAME | pause NAME [--note T] | unpause NAME | trigger NAME | delete NAME   [--json]
                                   runs are actions named NAME-<scheduled time> (list --schedule NAME)
  caisson template register FILE | list | show NAME[@VERSION]   [--json]
                                   versioned action definitions (image pinned to its digest, input and output schemas)
  caisson status ID [--json]       phase, host, exit code, step timings
  caisson logs ID [flags]          the container's log: its stdout on stdout, its stderr on stderr
      -f, --follow  --tail N  --since DURATION|ISO  --timestamps  --attempt N | --previous  --stdout  --stderr
  caisson result ID [--json]       wait for the result
  caisson cancel ID                stop the container; its output is still collected
  caisson list [--status S] [--image I] [--template NAME@VERSION] [--schedule NAME] [--since DURATION|ISO] [--limit N] [--json]
  caisson host list [--json]       the fleet's hosts: state, actions, cpu, memory, GPUs, labels, last report
  caisson host drain NAME [--reason TEXT] | undrain NAME
                                   stop (or resume) placing actions on a host; what runs there finishes
  caisson worker                   run a worker for this host (configured by environment variables)
  caisson interlink-plugin [--port 4000] [--ip 127.0.0.1] [--token-file F] [--id-prefix pod-]
                                   interLink's plugin API (/create /status /getLogs /delete): each container
                                   of a pod runs as action <prefix><pod uid>-<container>
                                   (CAISSON_INTERLINK_TOKEN or --token-file: the bearer token; required off loopback)
  caisson codec-server [--port 8888] [--ip 127.0.0.1] [--origin URL]... [--allow-host NAME]...
                                   decode encrypted payloads for the Temporal UI and CLI
                                   (CAISSON_CODEC_KEYS; CAISSON_CODEC_TOKEN: the bearer token, required off loopback;
                                   --allow-host: a name it is reached by besides its address, e.g. behind a proxy)
Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, CAISSON_TASK_QUEUE, TEMPORAL_UI_URL;
  for every line of a log, read access to the artifacts bucket: AWS_ENDPOINT_URL_S3, AWS_REGION,
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (without them: the last lines the host reports).`;

// The AWS SDK's notice about Node versions is for developers, not for users of this command.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning'))
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const out = (text: string) => process.stdout.write(text + '\n');
const err = (text: string) => process.stderr.write(text + '\n');

const uiLink = (actionId: string) =>
  actionUiLink(process.env.TEMPORAL_UI_URL, process.env.TEMPORAL_NAMESPACE || 'default', actionId);

function exitCodeFor(result: ActionResult): number {
  if (result.status === 'DONE') return 0;
  if (result.status === 'FAILED' && result.exitCode) return result.exitCode;
  return 1;
}

function printResult(result: ActionResult): void {
  const size = (n: number) =>
    n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
  out(`${result.status}  ${result.message}`);
  out(`  action     ${result.actionId}`);
  out(`  image      ${result.image}${result.imageDigest ? ` (${result.imageDigest})` : ''}`);
  if (result.host) out(`  host       ${result.host}`);
  out(`  exit code  ${result.exitCode ?? '-'}   reason ${result.reason}   attempts ${result.attempts}`);
  if (result.peakMemoryBytes || result.cpuSeconds) {
    out(`  usage      peak memory ${size(result.peakMemoryBytes ?? 0)}, CPU ${(result.cpuSeconds ?? 0).toFixed(2)}s`);
  }
  out(`  steps      ${result.timings.map((t) => `${t.step} ${formatDuration(t.ms)}`).join(', ')}`);
  if (result.logs) out(`  logs       ${result.logs.stdout}\n             ${result.logs.stderr}`);
  for (const e of result.logs?.earlier ?? []) out(`             attempt ${e.attempt}: ${e.stdout}, ${e.stderr}`);
  out(`  artifacts  ${result.artifactTotals.files} files, ${size(result.artifactTotals.bytes)}`);
  for (const a of result.artifacts.slice(0, 20)) out(`             ${a.uri} (${size(a.size)})`);
  if (result.artifacts.length > 20) out(`             … ${result.artifactTotals.files - 20} more in result.json`);
  for (const s of result.skipped.slice(0, 20)) out(`  skipped    ${s.path}: ${s.why}`);
  const skippedTotal = result.skippedTotal ?? result.skipped.length;
  if (skippedTotal > 20)
    out(`             … ${skippedTotal - 20} more skipped (result.json lists ${result.skipped.length})`);
  if (result.resultUri) out(`  result     ${result.resultUri}`);
  if (result.output !== undefined) out(`  output     ${JSON.stringify(result.output)}`);
  const link = uiLink(result.actionId);
  if (link) out(`  temporal   ${link}`);
}

function parseSince(text: string): Date {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(relative[1]) * unit);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--since ${text}: use a duration like 2h or an ISO date`);
  return date;
}

/** Writes and waits when the reader is slower: a long log never piles up in this process. */
async function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Prints a log as it comes. `run` shows it on stderr, each line marked with its stream ("|" for
 * stdout, "!" for stderr, in red on a terminal); `logs` writes the container's stdout to stdout and
 * its stderr to stderr, as `docker logs` does.
 */
async function printLog(
  handle: ActionHandle,
  options: LogOptions,
  style: { marked: boolean; timestamps?: boolean },
): Promise<void> {
  const red = process.stderr.isTTY ? (t: string) => `\x1b[31m${t}\x1b[0m` : (t: string) => t;
  let attempt: number | undefined;
  for await (const line of handle.logs(options) as AsyncIterable<LogLine>) {
    if (style.marked && attempt !== undefined && line.attempt !== attempt)
      await write(process.stderr, `--- attempt ${line.attempt} ---\n`);
    attempt = line.attempt;
    const text = `${style.timestamps ? `${line.time} ` : ''}${line.text}`;
    if (style.marked) await write(process.stderr, line.stream === 'stderr' ? red(`! ${text}`) + '\n' : `| ${text}\n`);
    else await write(line.stream === 'stderr' ? process.stderr : process.stdout, text + '\n');
  }
}

async function withClient<T>(fn: (client: ActionsClient) => Promise<T>): Promise<T> {
  const client = await ActionsClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const ARRAY_OPTIONS = {
  'array-count': { type: 'string' },
  'array-items': { type: 'string' },
  parallelism: { type: 'string' },
  'max-failures': { type: 'string' },
} as const;

/** The array flags as array options, or undefined for a single action. */
async function arrayFromFlags(
  values: Partial<Record<keyof typeof ARRAY_OPTIONS, string>>,
): Promise<ArrayOptionsInput | undefined> {
  if (values['array-count'] === undefined && values['array-items'] === undefined) {
    if (values.parallelism !== undefined || values['max-failures'] !== undefined)
      throw new UsageError('--parallelism and --max-failures go with --array-count or --array-items');
    return undefined;
  }
  if (values['array-count'] !== undefined && values['array-items'] !== undefined)
    throw new UsageError('--array-count and --array-items exclude each other');
  const items = values['array-items'] !== undefined ? await readDataFile(values['array-items']) : undefined;
  if (items !== undefined && !Array.isArray(items))
    throw new UsageError(
      `--array-items ${values['array-items']}: a list (JSON array or YAML sequence), one item per child`,
    );
  return {
    ...(values['array-count'] !== undefined ? { count: positiveInteger('--array-count', values['array-count']) } : {}),
    ...(items ? { items: items as unknown[] } : {}),
    ...(values.parallelism !== undefined ? { parallelism: positiveInteger('--parallelism', values.parallelism) } : {}),
    ...(values['max-failures'] !== undefined
      ? { maxFailures: positiveInteger('--max-failures', values['max-failures'], true) }
      : {}),
  };
}

/** `run --array-…`: starts the array, waits, prints its summary (or its id with --detach). */
async function runArrayCommand(
  request: RunRequest,
  array: ArrayOptionsInput,
  values: { id?: string; detach?: boolean; json?: boolean },
): Promise<number> {
  return withClient(async (client) => {
    const handle = await client.startArray(await specOf(client, request), array, { actionId: values.id });
    if (values.detach) {
      out(handle.actionId);
      return 0;
    }
    if (!values.json)
      err(`started array ${handle.actionId}${uiLink(handle.actionId) ? `  ${uiLink(handle.actionId)}` : ''}`);
    const result = await handle.result();
    if (values.json) out(JSON.stringify(result, null, 2));
    else {
      out(`${result.status}  ${result.message}`);
      out(`  array      ${result.actionId} (children ${result.actionId}-0 … ${result.actionId}-${result.count - 1})`);
      for (const c of result.children.filter((c) => c.status === 'FAILED' || c.status === 'CANCELED').slice(0, 20)) {
        out(
          `  ${c.status.padEnd(10)} ${result.actionId}-${c.index}  exit code ${c.exitCode ?? '-'}${c.resultUri ? `  ${c.resultUri}` : ''}`,
        );
      }
    }
    return result.status === 'DONE' ? 0 : 1;
  });
}

async function cmdRun(argv: string[]): Promise<number> {
  const { own, command } = splitCommand(argv);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      ...SPEC_OPTIONS,
      ...ARRAY_OPTIONS,
      id: { type: 'string' },
      detach: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 1)
    throw new UsageError('run takes one IMAGE (or template NAME); put the command after "--"');
  const request = await runRequest(values, positionals[0], command, [
    'id',
    'detach',
    'json',
    ...Object.keys(ARRAY_OPTIONS),
  ]);
  const array = await arrayFromFlags(values);
  if (array) return runArrayCommand(request, array, values);
  const start = (client: ActionsClient) =>
    'spec' in request
      ? client.start(request.spec, { actionId: values.id })
      : client.startTemplate(request.template, request.run, { actionId: values.id });
  return withClient(async (client) => {
    const handle = await start(client);
    if (values.detach) {
      out(handle.actionId);
      return 0;
    }
    if (!values.json) {
      err(
        `${handle.started ? 'started' : 'attached to'} ${handle.actionId}${uiLink(handle.actionId) ? `  ${uiLink(handle.actionId)}` : ''}`,
      );
    }
    const result = handle.result();
    if (!values.json) {
      if (handle.canReadLogs) {
        await printLog(handle, { follow: true, until: result }, { marked: true }).catch((e: Error) =>
          // The action goes on; only the view of its log broke. Its full log is in S3 at the end.
          err(`(following the log stopped: ${e.message})`),
        );
      } else {
        err('(no access to the artifacts bucket: showing the last lines the host reports, not every line)');
        await followTail(
          () => handle.logTail(),
          (lines) => lines.forEach((l) => err(`| ${l}`)),
          result,
        );
      }
    }
    const final = await result;
    if (values.json) out(JSON.stringify(final, null, 2));
    else printResult(final);
    return exitCodeFor(final);
  });
}

function positiveInteger(flag: string, text: string | undefined, allowZero = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new UsageError(`${flag} takes a ${allowZero ? 'whole number' : 'positive whole number'}, not "${text}"`);
  return n;
}

async function cmdLogs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      follow: { type: 'boolean', short: 'f' },
      tail: { type: 'string' },
      since: { type: 'string' },
      timestamps: { type: 'boolean', short: 't' },
      attempt: { type: 'string' },
      previous: { type: 'boolean', short: 'p' },
      stdout: { type: 'boolean' },
      stderr: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('logs takes one action ID');
  if (values.attempt !== undefined && values.previous)
    throw new UsageError('--attempt and --previous exclude each other');
  const options: LogOptions = {
    follow: values.follow,
    tail: positiveInteger('--tail', values.tail, true),
    since: values.since ? parseSince(values.since) : undefined,
    attempt: positiveInteger('--attempt', values.attempt),
    streams:
      values.stdout || values.stderr
        ? [...(values.stdout ? ['stdout' as const] : []), ...(values.stderr ? ['stderr' as const] : [])]
        : undefined,
  };
  return withClient(async (c) => {
    const handle = c.attach(positionals[0]!);
    if (values.previous) {
      const current = await handle.currentAttempt();
      if (current < 2) throw new UsageError(`--previous: action ${handle.actionId} has had only one attempt`);
      options.attempt = current - 1;
    }
    if (handle.canReadLogs) await printLog(handle, options, { marked: false, timestamps: values.timestamps });
    else {
      err('(no access to the artifacts bucket: showing the last lines the host reports, not every line)');
      if (values.follow)
        await followTail(
          () => handle.logTail(),
          (lines) => lines.forEach((l) => out(l)),
          handle.result().catch(() => {}),
        );
      else (await handle.logTail()).forEach((l) => out(l));
    }
    return 0;
  });
}

/** The one action ID a command takes, with --json and -f. */
function idArg(command: string, args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, follow: { type: 'boolean', short: 'f' } },
  });
  if (positionals.length !== 1) throw new UsageError(`${command} takes one action ID`);
  return { id: positionals[0]!, ...values };
}

async function cmdStatus(argv: string[]): Promise<number> {
  const { id, json } = idArg('status', argv);
  const status = await withClient((c) => c.attach(id).status());
  if (json) out(JSON.stringify(status, null, 2));
  else {
    out(`${status.actionId}  ${status.phase}${status.waitingFor ? ` (waiting for ${status.waitingFor})` : ''}`);
    out(
      `  image ${status.image}   host ${status.host ?? '-'}   attempt ${status.attempt}   exit code ${status.exitCode ?? '-'}`,
    );
    out(`  steps ${status.timings.map((t) => `${t.step} ${formatDuration(t.ms)}`).join(', ') || '-'}`);
  }
  return 0;
}

async function cmdResult(argv: string[]): Promise<number> {
  const { id, json } = idArg('result', argv);
  const result = await withClient((c) => c.attach(id).result());
  if (json) out(JSON.stringify(result, null, 2));
  else printResult(result);
  return exitCodeFor(result);
}

async function cmdCancel(argv: string[]): Promise<number> {
  const { id } = idArg('cancel', argv);
  await withClient((c) => c.attach(id).cancel());
  err(`cancel requested for ${id}; its container stops and its output is still collected`);
  return 0;
}

async function cmdList(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      status: { type: 'string' },
      image: { type: 'string' },
      template: { type: 'string' },
      schedule: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new UsageError('--limit takes a positive whole number');
  const rows = await withClient((c) =>
    c.list({
      status: values.status,
      image: values.image,
      template: values.template,
      schedule: values.schedule,
      since: values.since ? parseSince(values.since) : undefined,
      limit,
    }),
  );
  if (values.json) out(JSON.stringify(rows, null, 2));
  else {
    out(['ACTION', 'STATUS', 'IMAGE', 'STARTED'].join('\t'));
    for (const r of rows) out([r.actionId, r.status, r.image ?? '-', r.startTime.toISOString()].join('\t'));
  }
  return 0;
}

async function cmdWorker(): Promise<number> {
  // Imported on use: no other command loads the worker's modules.
  const { runWorker } = await import('../worker/run-worker.js');
  await runWorker(loadWorkerConfig());
  return 0;
}

/** Every command by its name; each gets the arguments after its name and returns the exit code. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  run: cmdRun,
  status: cmdStatus,
  logs: cmdLogs,
  result: cmdResult,
  cancel: cmdCancel,
  list: cmdList,
  host: (argv) => hostCommand(argv, out),
  template: (argv) => templateCommand(argv, out),
  schedule: (argv) => withClient((client) => scheduleCommand(argv, client, out)),
  'codec-server': (argv) => codecServerCommand(argv, err),
  'interlink-plugin': (argv) => interlinkCommand(argv, err),
  worker: cmdWorker,
};

const HELP = ['help', '--help', '-h'];

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || HELP.includes(command)) {
    out(USAGE);
    // Asked for, help is an answer; no command at all is a usage error.
    return command ? 0 : 2;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) throw new UsageError(`unknown command "${command}"`);
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof InvalidSpecError || error instanceof DataFileError) {
      err(error.message);
      process.exit(2);
    }
    if (error instanceof TemplateError || error instanceof ScheduleError) {
      err(`caisson: ${error.message}`);
      process.exit(1);
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`caisson: ${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    err(`caisson: ${(error as Error).message}`);
    process.exit(1);
  },
);
