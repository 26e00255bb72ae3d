// `caisson schedule create|update|list|show|pause|unpause|trigger|delete`: actions on Temporal
// Schedules (client/schedules.ts). The spec is given as for `caisson run`: flags and IMAGE, -f FILE,
// or a template (whose definition is read when the schedule is made: its runs keep that version).
import { parseArgs } from 'node:util';
import type { ActionsClient } from '../client/index.js';
import {
  OVERLAPS,
  type ActionSchedules as Schedules,
  type Overlap,
  type ScheduleOptions,
} from '../client/schedules.js';
import { runRequest, SPEC_OPTIONS, specOf, splitCommand } from './run-request.js';
import { UsageError } from './spec-from-flags.js';

const TIMING_OPTIONS = {
  cron: { type: 'string', multiple: true },
  every: { type: 'string' },
  timezone: { type: 'string' },
  jitter: { type: 'string' },
  overlap: { type: 'string' },
  'catchup-window': { type: 'string' },
  paused: { type: 'boolean' },
  note: { type: 'string' },
  json: { type: 'boolean' },
} as const;
const TIMING_FLAGS = Object.keys(TIMING_OPTIONS);

function scheduleOptions(values: Record<string, unknown>): ScheduleOptions {
  const overlap = values.overlap as string | undefined;
  if (overlap !== undefined && !Object.hasOwn(OVERLAPS, overlap))
    throw new UsageError(`--overlap is one of ${Object.keys(OVERLAPS).join(', ')}`);
  return {
    cron: values.cron as string[] | undefined,
    every: values.every as string | undefined,
    timezone: values.timezone as string | undefined,
    jitter: values.jitter as string | undefined,
    overlap: overlap as Overlap | undefined,
    catchupWindow: values['catchup-window'] as string | undefined,
    paused: values.paused as boolean | undefined,
    note: values.note as string | undefined,
  };
}

type Out = (text: string) => void;

/** The NAME of a subcommand that takes only a name (and --json, --note). */
function nameOnly(sub: string, args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, note: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError(`schedule ${sub} takes one schedule NAME`);
  return { name: positionals[0]!, values };
}

/** `create` and `update`: the timing flags, then the spec as for `caisson run` (optional for update). */
async function createOrUpdate(
  sub: 'create' | 'update',
  args: string[],
  client: ActionsClient,
  schedules: Schedules,
  out: Out,
): Promise<number> {
  const { own, command } = splitCommand(args);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: { ...SPEC_OPTIONS, ...TIMING_OPTIONS },
  });
  const [name, target] = positionals;
  if (!name || positionals.length > 2)
    throw new UsageError(`schedule ${sub} takes NAME, then IMAGE (or -f FILE, or --template NAME)`);
  const options = scheduleOptions(values);
  const specGiven = target !== undefined || values.file !== undefined || values.template !== undefined;
  if (sub === 'create') {
    const spec = await specOf(client, await runRequest(values, target, command, TIMING_FLAGS));
    await schedules.create(name, spec, options);
    out(`created schedule ${name}; its runs are actions named ${name}-<scheduled time>`);
  } else {
    const spec = specGiven ? await specOf(client, await runRequest(values, target, command, TIMING_FLAGS)) : undefined;
    await schedules.update(name, { spec, options });
    out(`updated schedule ${name}`);
  }
  return 0;
}

async function list(args: string[], schedules: Schedules, out: Out): Promise<number> {
  const rows = await schedules.list();
  if (args.includes('--json')) out(JSON.stringify(rows, null, 2));
  else {
    out(['SCHEDULE', 'STATE', 'NEXT RUN'].join('\t'));
    for (const r of rows)
      out([r.scheduleId, r.paused ? `paused${r.note ? ` (${r.note})` : ''}` : 'active', r.next ?? '-'].join('\t'));
  }
  return 0;
}

async function show(args: string[], schedules: Schedules, out: Out): Promise<number> {
  const { name, values } = nameOnly('show', args);
  const view = await schedules.describe(name);
  if (values.json) out(JSON.stringify(view, null, 2));
  else {
    const t = view.timing;
    out(`${view.scheduleId}  ${view.paused ? `paused${view.note ? ` (${view.note})` : ''}` : 'active'}`);
    out(
      `  when       ${t.cron?.length ? `cron ${t.cron.join(' | ')}` : t.every ? `every ${t.every}` : '-'}${t.timezone ? ` (${t.timezone})` : ''}${t.jitter ? `, jitter ${t.jitter}` : ''}`,
    );
    out(
      `  overlap    ${view.overlap}${view.skippedByOverlap ? ` (${view.skippedByOverlap} runs skipped so far)` : ''}`,
    );
    out(`  runs       ${view.template ?? view.image}`);
    out(`  next       ${view.next.join(', ') || '-'}`);
    for (const r of view.recent) out(`  ran        ${r.scheduledAt}  ${r.status}  ${r.actionId}`);
  }
  return 0;
}

/** The subcommands that act on one schedule by its name: each does its part and says what it did. */
const BY_NAME: Record<string, (schedules: Schedules, name: string, note: string | undefined) => Promise<string>> = {
  async pause(schedules, name, note) {
    await schedules.pause(name, note);
    return `paused schedule ${name}`;
  },
  async unpause(schedules, name, note) {
    await schedules.unpause(name, note);
    return `unpaused schedule ${name}`;
  },
  async trigger(schedules, name) {
    await schedules.trigger(name);
    return `triggered schedule ${name} (under its overlap policy)`;
  },
  async delete(schedules, name) {
    await schedules.delete(name);
    return `deleted schedule ${name}; the runs it started go on`;
  },
};

export async function scheduleCommand(argv: string[], client: ActionsClient, out: Out): Promise<number> {
  const [sub, ...rest] = argv;
  const schedules = client.schedules();
  if (sub === 'create' || sub === 'update') return createOrUpdate(sub, rest, client, schedules, out);
  if (sub === 'list') return list(rest, schedules, out);
  if (sub === 'show') return show(rest, schedules, out);
  if (sub !== undefined && Object.hasOwn(BY_NAME, sub)) {
    const { name, values } = nameOnly(sub, rest);
    out(await BY_NAME[sub]!(schedules, name, values.note));
    return 0;
  }
  throw new UsageError(`schedule ${sub ?? ''}: use create, update, list, show, pause, unpause, trigger or delete`);
}
