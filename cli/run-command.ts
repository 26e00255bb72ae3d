// `caisson run`: start an action (or an array, or a template run), follow it and exit as `docker run`
// does. The spec is checked before any connection is made, so a mistake is named at once even when
// Temporal is out of reach.
import { Command } from 'commander';
import type { ActionHandle, ActionResult, ActionsClient } from '../client/index.js';
import { readDataFile } from '../common/text/data-file.js';
import { parseActionSpec } from '../spec/action.js';
import type { ArrayOptionsInput } from '../spec/array.js';
import { err, out, uiLink, withClient } from './connect.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { examples } from './help-text.js';
import { followLog } from './log-printer.js';
import { addSpecOptions, afterDash, operandsBeforeDash, valuesByFlag } from './options.js';
import { positiveInteger } from './action-commands.js';
import { printArrayResult, printResult } from './print-result.js';
import { phasesOn } from './progress.js';
import { runRequest, specOf, type RunRequest } from './run-request.js';
import { UsageError } from './spec-from-flags.js';

/** Flags of `run` itself, never spec fields. */
const ARRAY_FLAGS = ['parallelism', 'max-failures', 'objective', 'outputs', 'early-stop', 'max-trials'] as const;
/** Flags that make (and shape) an array: never spec fields. */
export const ARRAY_OPTION_FLAGS = ['array-count', 'array-items', ...ARRAY_FLAGS];
const RUN_FLAGS = ['id', 'detach', 'json', 'pretty', ...ARRAY_OPTION_FLAGS];

interface RunOptions {
  id?: string;
  detach?: boolean;
  json?: boolean;
  pretty?: boolean;
}

/** The array flags as array options, or undefined for a single action. */
export async function arrayFromFlags(values: Record<string, unknown>): Promise<ArrayOptionsInput | undefined> {
  const [count, itemsFile, parallelism, maxFailures] = (
    ['array-count', 'array-items', 'parallelism', 'max-failures'] as const
  ).map((k) => values[k] as string | undefined);
  if (count === undefined && itemsFile === undefined) {
    const given = ARRAY_FLAGS.filter((k) => values[k] !== undefined);
    if (given.length)
      throw new UsageError(
        `${given.map((k) => `--${k}`).join(', ')}: array flags, with --array-count or --array-items`,
      );
    return undefined;
  }
  if (count !== undefined && itemsFile !== undefined)
    throw new UsageError('--array-count and --array-items exclude each other');
  const items = itemsFile !== undefined ? await readDataFile(itemsFile) : undefined;
  if (items !== undefined && !Array.isArray(items))
    throw new UsageError(`--array-items ${itemsFile}: a list (JSON array or YAML sequence), one item per child`);
  return {
    ...(count !== undefined ? { count: positiveInteger('--array-count', count) } : {}),
    ...(items ? { items: items as unknown[] } : {}),
    ...(parallelism !== undefined ? { parallelism: positiveInteger('--parallelism', parallelism) } : {}),
    ...(maxFailures !== undefined ? { maxFailures: positiveInteger('--max-failures', maxFailures, true) } : {}),
    ...sweepFromFlags(values),
  };
}

/** A sweep's flags: --objective POINTER:minimize|maximize, --outputs, --early-stop N, --max-trials N. */
function sweepFromFlags(values: Record<string, unknown>): Partial<ArrayOptionsInput> {
  const sweep: Partial<ArrayOptionsInput> = {};
  const objective = values.objective as string | undefined;
  if (objective !== undefined) {
    const match = /^(.*):(minimize|maximize)$/.exec(objective);
    if (!match)
      throw new UsageError(
        `--objective ${objective}: write POINTER:minimize or POINTER:maximize (e.g. /loss:minimize)`,
      );
    sweep.objective = { pointer: match[1]!, goal: match[2] as 'minimize' | 'maximize' };
  }
  if (values.outputs) sweep.outputs = true;
  const patience = positiveInteger('--early-stop', values['early-stop'] as string | undefined);
  if (patience !== undefined) sweep.earlyStop = { patience };
  const maxTrials = positiveInteger('--max-trials', values['max-trials'] as string | undefined);
  if (maxTrials !== undefined) sweep.maxTrials = maxTrials;
  return sweep;
}

/** The flags of an array (and of a sweep), as `run` and `schedule create|update` take them. */
export function addArrayOptions(cmd: Command): Command {
  return cmd
    .option('--array-count <n>', 'an array: N child actions ID-0 … ID-(N-1), each with ACTION_INDEX and ACTION_COUNT')
    .option('--array-items <file>', 'an array: one child per item of a JSON or YAML list, the item as its input')
    .option('--parallelism <n>', "an array's children at once")
    .option('--max-failures <n>', "an array's failed children before it stops starting more")
    .option(
      '--objective <pointer:goal>',
      "a sweep: the number in each child's JSON output to minimize or maximize, e.g. /loss:minimize",
    )
    .option('--outputs', "keep each child's JSON output in the array's result")
    .option('--early-stop <n>', 'a sweep: stop starting children after N ended without improving the best')
    .option('--max-trials <n>', 'start at most N children');
}

const startedLine = (verb: string, actionId: string) =>
  `${verb} ${actionId}${uiLink(actionId) ? `  ${uiLink(actionId)}` : ''}`;

async function runArray(request: RunRequest, array: ArrayOptionsInput, opts: RunOptions): Promise<number> {
  return withClient(async (client) => {
    const handle = await client.startArray(await specOf(client, request), array, { actionId: opts.id });
    if (opts.detach) {
      out(handle.actionId);
      return EXIT.done;
    }
    if (!opts.json) err(startedLine('started array', handle.actionId));
    const result = await handle.result();
    if (opts.json) out(JSON.stringify(result, null, 2));
    else printArrayResult(result, opts.pretty ? out : err);
    return result.status === 'DONE' ? EXIT.done : EXIT.other;
  });
}

async function runOne(request: RunRequest, opts: RunOptions): Promise<number> {
  const start = (client: ActionsClient) =>
    'spec' in request
      ? client.start(request.spec, { actionId: opts.id })
      : client.startTemplate(request.template, request.run, { actionId: opts.id });
  return withClient(async (client) => {
    const handle = await start(client);
    if (opts.detach) {
      out(handle.actionId);
      return EXIT.done;
    }
    if (!opts.json) err(startedLine(handle.started ? 'started' : 'attached to', handle.actionId));
    const ended = handle.result();
    const phases = phasesOn(process.stderr);
    const note = (text: string) => {
      phases.clear();
      err(text);
    };
    await Promise.all([
      phases.follow(handle.actionId, () => handle.status(), ended),
      opts.json
        ? undefined
        : (isGang(request) ? followGangLog : followLog)(
            handle,
            ended,
            { marked: Boolean(opts.pretty), beforeLine: phases.clear },
            note,
            client,
          ),
    ]);
    const result = await ended;
    if (opts.json) out(JSON.stringify(result, null, 2));
    else printResult(result, opts.pretty ? out : err, uiLink(result.actionId));
    return exitCodeFor(result);
  });
}

const isGang = (request: RunRequest) => 'spec' in request && (request.spec.replicas ?? 1) > 1;

/**
 * A gang has no log of its own: its rank 0's is followed, attempt after attempt (each attempt's
 * replicas are new actions), until the gang has ended.
 */
async function followGangLog(
  handle: ActionHandle,
  ended: Promise<ActionResult>,
  style: Parameters<typeof followLog>[2],
  note: (text: string) => void,
  client: ActionsClient,
): Promise<void> {
  let over = false;
  const end = ended.then(
    () => void (over = true),
    () => void (over = true),
  );
  for (let last: string | undefined; ;) {
    // The current attempt's rank 0 (waiting while the gang is placed), or, once the gang has
    // ended, its last attempt's.
    const found = await Promise.race([handle.replicaId(0).catch(() => undefined), end.then(() => undefined)]);
    const id = found ?? (over ? await handle.replicaId(0).catch(() => undefined) : undefined);
    if (id === undefined) return;
    if (id !== last) {
      last = id;
      note(`(following replica 0, ${id}; caisson logs ${handle.actionId} --replica K for another)`);
      const replica = client.attach(id);
      await followLog(replica, replica.result(), style, note);
      continue;
    }
    if (over) return;
    // This attempt's rank 0 has ended: the next attempt's, or the gang's end.
    await Promise.race([end, new Promise((r) => setTimeout(r, 1000))]);
  }
}

export function runCommand(program: Command): void {
  const cmd = program
    .command('run')
    .description('run an action: its stdout on stdout, its stderr on stderr, a summary on stderr')
    .usage('[flags] IMAGE [-- ARGS...]  |  -f SPEC.yaml [flags] [IMAGE]  |  NAME[@VERSION] [--input JSON]')
    .argument('[target]', 'IMAGE (its registry always named), or a template NAME[@VERSION] (no "/")')
    .argument('[args...]', 'after "--": the image\'s command, its ENTRYPOINT kept (as docker run IMAGE ARGS)');
  addArrayOptions(addSpecOptions(cmd))
    .option('--id <id>', 'the action id: the same id and spec again attaches, never runs twice')
    .option('-d, --detach', 'print the action id and return')
    .option('--json', 'print only the result, as JSON, on stdout (no log)')
    .option('--pretty', 'the log on stderr, each line marked "|" (stdout) or "!" (stderr), the summary on stdout')
    .addHelpText(
      'after',
      examples(
        "caisson run -m 64Mi --timeout 1m registry.example/busybox:1 -- sh -c 'echo hi > /out/hi.txt'",
        'caisson run registry.example/busybox:1 -- echo \'{"a":1}\' | jq .a',
        'caisson run --entrypoint /bin/echo registry.example/busybox:1 -- hi',
        'caisson run -f action.yaml -e MODE=fast',
        'cat action.yaml | caisson run -f - --detach',
        'caisson run greeting@1.0.0 --input \'{"name": "Ada"}\'',
        'caisson run --output json --array-items lrs.yaml --objective /loss:minimize --early-stop 5 IMAGE -- train',
      ) + `\n\n${EXIT_CODES_HELP}`,
    )
    .action(async (_target: string | undefined, _args: string[], opts: RunOptions, self: Command) => {
      const operands = operandsBeforeDash(self);
      const args = afterDash(self);
      if (operands.length > 1)
        throw new UsageError('run takes one IMAGE (or template NAME); put its arguments after "--"');
      const values = valuesByFlag(self);
      const request = await runRequest(values, operands[0], args, RUN_FLAGS);
      const array = await arrayFromFlags(values);
      // Checked here, before connecting: a bad spec is named even with Temporal out of reach.
      if ('spec' in request) parseActionSpec(request.spec);
      process.exitCode = array ? await runArray(request, array, opts) : await runOne(request, opts);
    });
}
