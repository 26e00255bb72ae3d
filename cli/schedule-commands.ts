// `caisson schedule create|update|list|show|pause|unpause|trigger|delete`: actions on Temporal
// Schedules (client/schedules.ts). The spec is given as for `caisson run`: flags and IMAGE, -f FILE,
// or a template (whose definition is read when the schedule is made: its runs keep that version).
import { parseArgs } from 'node:util';
import type { ActionsClient } from '../client/index.js';
import { OVERLAPS, type Overlap, type ScheduleOptions } from '../client/schedules.js';
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

export async function scheduleCommand(
  argv: string[],
  client: ActionsClient,
  out: (text: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  const schedules = client.schedules();
  const nameOnly = (extra: Record<string, { type: 'string' | 'boolean' }> = {}) => {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, note: { type: 'string' }, ...extra },
    });
    if (positionals.length !== 1) throw new UsageError(`schedule ${sub} takes one schedule NAME`);
    return { name: positionals[0]!, values };
  };
  switch (sub) {
    case 'create':
    case 'update': {
      const { own, command } = splitCommand(rest);
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
        const spec = specGiven
          ? await specOf(client, await runRequest(values, target, command, TIMING_FLAGS))
          : undefined;
        await schedules.update(name, { spec, options });
        out(`updated schedule ${name}`);
      }
      return 0;
    }
    case 'list': {
      const rows = await schedules.list();
      if (rest.includes('--json')) out(JSON.stringify(rows, null, 2));
      else {
        out(['SCHEDULE', 'STATE', 'NEXT RUN'].join('\t'));
        for (const r of rows)
          out([r.scheduleId, r.paused ? `paused${r.note ? ` (${r.note})` : ''}` : 'active', r.next ?? '-'].join('\t'));
      }
      return 0;
    }
    case 'show': {
      const { name, values } = nameOnly();
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
    case 'pause': {
      const { name, values } = nameOnly();
      await schedules.pause(name, values.note as string | undefined);
      out(`paused schedule ${name}`);
      return 0;
    }
    case 'unpause': {
      const { name, values } = nameOnly();
      await schedules.unpause(name, values.note as string | undefined);
      out(`unpaused schedule ${name}`);
      return 0;
    }
    case 'trigger': {
      const { name } = nameOnly();
      await schedules.trigger(name);
      out(`triggered schedule ${name} (under its overlap policy)`);
      return 0;
    }
    case 'delete': {
      const { name } = nameOnly();
      await schedules.delete(name);
      out(`deleted schedule ${name}; the runs it started go on`);
      return 0;
    }
    default:
      throw new UsageError(`schedule ${sub ?? ''}: use create, update, list, show, pause, unpause, trigger or delete`);
  }
}
