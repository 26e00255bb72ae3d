// `caisson schedule create|update|list|show|pause|unpause|trigger|delete`: actions on Temporal
// Schedules (client/schedules.ts). The spec is given as for `caisson run`: flags and IMAGE, -f FILE,
// or a template (whose definition is read when the schedule is made: its runs keep that version).
import { Command } from 'commander';
import type { ActionsClient } from '../client/index.js';
import type { ActionSchedules as Schedules, Overlap, ScheduleOptions } from '../client/schedules.js';
import { out, withClient } from './connect.js';
import { examples } from './help-text.js';
import { addSpecOptions, afterDash, collect, operandsBeforeDash, valuesByFlag } from './options.js';
import { addFormatOptions, formatOf, renderList, type Columns } from './output-format.js';
import { runRequest, specOf } from './run-request.js';
import { addArrayOptions, arrayFromFlags, ARRAY_OPTION_FLAGS } from './run-command.js';
import { UsageError } from './spec-from-flags.js';

const TIMING_FLAGS = ['cron', 'every', 'timezone', 'jitter', 'overlap', 'catchup-window', 'paused', 'note'];

function addTimingOptions(cmd: Command): Command {
  return cmd
    .option('--cron <expr>', 'a cron expression, e.g. "0 3 * * *" (repeatable)', collect)
    .option('--every <duration>', 'or a fixed interval: 30s, 6h')
    .option('--timezone <tz>', 'the time zone of --cron (UTC without one)')
    .option('--jitter <duration>', 'start each run up to this much later, at random')
    .option(
      '--overlap <policy>',
      'when a run is due while one runs: skip, buffer-one, buffer-all, allow-all or cancel-other',
    )
    .option('--catchup-window <duration>', 'after a server outage, missed runs within this window are still taken')
    .option('--paused', 'created paused')
    .option('--note <text>', 'a note, shown in list and show');
}

async function scheduleOptions(values: Record<string, unknown>): Promise<ScheduleOptions> {
  const { OVERLAPS } = await import('../client/schedules.js');
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

/** `create` and `update`: the timing flags, then the spec as for `caisson run` (optional for update). */
async function createOrUpdate(sub: 'create' | 'update', cmd: Command, client: ActionsClient): Promise<void> {
  const operands = operandsBeforeDash(cmd);
  const args = afterDash(cmd);
  const values = valuesByFlag(cmd);
  const [name, target] = operands;
  if (!name || operands.length > 2)
    throw new UsageError(`schedule ${sub} takes NAME, then IMAGE (or -f FILE, or --template NAME)`);
  const array = await arrayFromFlags(values);
  const options = { ...(await scheduleOptions(values)), ...(array ? { array } : {}) };
  const ignored = [...TIMING_FLAGS, ...ARRAY_OPTION_FLAGS];
  const specGiven = target !== undefined || values.file !== undefined || values.template !== undefined;
  const schedules = client.schedules();
  if (sub === 'create') {
    const spec = await specOf(client, await runRequest(values, target, args, ignored));
    await schedules.create(name, spec, options);
    out(`created schedule ${name}; its runs are actions named ${name}-<scheduled time>`);
  } else {
    const spec = specGiven ? await specOf(client, await runRequest(values, target, args, ignored)) : undefined;
    await schedules.update(name, { spec, options });
    out(`updated schedule ${name}`);
  }
}

type ScheduleRow = Awaited<ReturnType<Schedules['list']>>[number];

const stateOf = (paused: boolean, note: string | undefined) =>
  paused ? `paused${note ? ` (${note})` : ''}` : 'active';

const SCHEDULE_COLUMNS: Columns<ScheduleRow> = {
  header: ['SCHEDULE', 'STATE', 'NEXT RUN'],
  row: (r) => [r.scheduleId, stateOf(r.paused, r.note), r.next ?? '-'],
  name: (r) => r.scheduleId,
};

async function show(name: string, json: boolean | undefined, schedules: Schedules): Promise<void> {
  const view = await schedules.describe(name);
  if (json) return out(JSON.stringify(view, null, 2));
  const t = view.timing;
  out(`${view.scheduleId}  ${stateOf(view.paused, view.note)}`);
  out(
    `  when       ${t.cron?.length ? `cron ${t.cron.join(' | ')}` : t.every ? `every ${t.every}` : '-'}${t.timezone ? ` (${t.timezone})` : ''}${t.jitter ? `, jitter ${t.jitter}` : ''}`,
  );
  out(`  overlap    ${view.overlap}${view.skippedByOverlap ? ` (${view.skippedByOverlap} runs skipped so far)` : ''}`);
  out(`  runs       ${view.template ?? view.image}`);
  out(`  next       ${view.next.join(', ') || '-'}`);
  for (const r of view.recent) out(`  ran        ${r.scheduledAt}  ${r.status}  ${r.actionId}`);
}

/** The subcommands that act on one schedule by its name: each does its part and says what it did. */
const BY_NAME: Record<
  string,
  { about: string; run: (schedules: Schedules, name: string, note: string | undefined) => Promise<string> }
> = {
  pause: {
    about: 'start no runs until unpaused',
    async run(schedules, name, note) {
      await schedules.pause(name, note);
      return `paused schedule ${name}`;
    },
  },
  unpause: {
    about: 'start runs again when due',
    async run(schedules, name, note) {
      await schedules.unpause(name, note);
      return `unpaused schedule ${name}`;
    },
  },
  trigger: {
    about: 'start a run now, under the overlap policy',
    async run(schedules, name) {
      await schedules.trigger(name);
      return `triggered schedule ${name} (under its overlap policy)`;
    },
  },
  delete: {
    about: 'delete the schedule; the runs it started go on',
    async run(schedules, name) {
      await schedules.delete(name);
      return `deleted schedule ${name}; the runs it started go on`;
    },
  },
};

export function scheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('actions on a timetable: runs are actions named NAME-<scheduled time> (list --schedule NAME)')
    .addHelpText(
      'after',
      examples(
        "caisson schedule create nightly --cron '0 3 * * *' registry.example/etl:1 -- --full",
        'caisson schedule list',
      ),
    );
  for (const sub of ['create', 'update'] as const) {
    const cmd = schedule
      .command(sub)
      .description(
        sub === 'create'
          ? 'create a schedule: its timing, then the spec as for run'
          : 'change what is given (timing flags, spec), keep the rest',
      )
      .usage('NAME [timing flags] ([flags] IMAGE [-- ARGS...] | -f SPEC.yaml | --template NAME[@VERSION])')
      .argument('<name>', 'the schedule name')
      .argument('[target]', 'IMAGE or template NAME[@VERSION], as for run')
      .argument('[args...]', 'after "--": the image\'s command');
    addArrayOptions(addSpecOptions(addTimingOptions(cmd)))
      .addHelpText(
        'after',
        sub === 'create'
          ? examples(
              'caisson schedule create nightly --every 24h -f etl.yaml',
              "caisson schedule create hourly --cron '0 * * * *' --template report@2.0.0",
              'caisson schedule create sweep --every 24h --array-count 12 --output json --objective /loss:minimize IMAGE -- train',
            )
          : examples(
              'caisson schedule update nightly --every 12h',
              'caisson schedule update nightly registry.example/etl:2',
            ),
      )
      .action((_n: string, _t: string | undefined, _a: string[], _o: unknown, self: Command) =>
        withClient((client) => createOrUpdate(sub, self, client)),
      );
  }
  addFormatOptions(schedule.command('list').alias('ls').description('every schedule: state and next run'))
    .addHelpText('after', examples('caisson schedule list', 'caisson schedule list -o json'))
    .action((opts: { output?: string; json?: boolean }) =>
      withClient(async (client) =>
        renderList(await client.schedules().list(), formatOf(opts), SCHEDULE_COLUMNS).forEach(out),
      ),
    );
  schedule
    .command('show')
    .description('timing, overlap policy, next and recent runs')
    .argument('<name>', 'the schedule name')
    .option('--json', 'as JSON')
    .addHelpText('after', examples('caisson schedule show nightly'))
    .action((name: string, opts: { json?: boolean }) =>
      withClient((client) => show(name, opts.json, client.schedules())),
    );
  for (const [sub, { about, run }] of Object.entries(BY_NAME)) {
    const cmd = schedule.command(sub).description(about).argument('<name>', 'the schedule name');
    if (sub === 'pause' || sub === 'unpause') cmd.option('--note <text>', 'why, shown in list and show');
    cmd
      .addHelpText('after', examples(`caisson schedule ${sub} nightly`))
      .action((name: string, opts: { note?: string }) =>
        withClient(async (client) => out(await run(client.schedules(), name, opts.note))),
      );
  }
}
