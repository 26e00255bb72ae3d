// Actions on a schedule, on Temporal Schedules (no timer loop of ours): each run the schedule takes
// is an ordinary action, started with the id "<schedule id>-<scheduled time>" (Temporal appends
// the time, so a run is never started twice) and the ActionSchedule search attribute. A schedule
// given `array` options starts an array (client/arrays.ts) each time instead: its children are
// "<run id>-<index>".
import {
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { InvalidSpecError, parseActionSpec, type ActionSpecInput } from '../spec/action.js';
import { ARRAY_WORKFLOW_TYPE, type ArrayOptionsInput, type RunArrayInput } from '../spec/array.js';
import { parseDuration } from '../spec/quantity.js';
import { ActionImageKey, ActionScheduleKey, ActionStatusKey, ActionTemplateKey } from '../spec/search-attributes.js';
import { WORKFLOW_TYPE, type FleetOptions, type RunActionInput } from '../spec/workflow-api.js';
import { arrayProblems } from './arrays.js';

/** What happens when a run is due while the last one still runs (Temporal's overlap policies). */
export const OVERLAPS = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'allow-all': 'ALLOW_ALL',
  'cancel-other': 'CANCEL_OTHER',
} as const;
export type Overlap = keyof typeof OVERLAPS;

/** A schedule id: like an action id, shorter, as each run's id appends the scheduled time to it. */
const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$/;

export interface ScheduleTiming {
  /** Cron expressions ("0 3 * * *"), in `timezone` (UTC without one). */
  cron?: string[];
  /** Or a fixed interval: "30s", "6h". */
  every?: string;
  timezone?: string;
  /** Each run starts up to this much later, at random: many schedules of one minute spread out. */
  jitter?: string;
}

export interface ScheduleOptions extends ScheduleTiming {
  overlap?: Overlap;
  /** After an outage of the server, runs missed within this window are still taken (default 1 year). */
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
  fleet?: FleetOptions;
  /** Each run is an array of the spec (count or items, parallelism, a sweep's options...). */
  array?: ArrayOptionsInput;
}

export interface ScheduleRun {
  actionId: string;
  scheduledAt: string;
  status: string;
}

export interface ScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  overlap: Overlap;
  timing: ScheduleTiming;
  image: string;
  template?: string;
  /** The array each run is, for a schedule of arrays. */
  array?: ArrayOptionsInput;
  /** The next times a run is due. */
  next: string[];
  /** The latest runs (up to 10), oldest first, with their status. */
  recent: ScheduleRun[];
  skippedByOverlap: number;
}

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

const ms = (field: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new ScheduleError(`${field}: ${parsed.message}`);
  return parsed.value;
};

const overlapName = (policy: ScheduleOverlapPolicy | string): Overlap =>
  (Object.entries(OVERLAPS).find(([, v]) => v === policy)?.[0] as Overlap | undefined) ?? 'skip';

/** The Temporal schedule spec of a timing; checked here so that a mistake names the flag. */
function scheduleSpec(timing: ScheduleTiming) {
  if (!timing.cron?.length === !timing.every)
    throw new ScheduleError('give the schedule --cron EXPRESSION (repeatable) or --every DURATION');
  const every = ms('every', timing.every);
  return {
    ...(timing.cron?.length ? { cronExpressions: timing.cron } : {}),
    ...(every !== undefined ? { intervals: [{ every }] } : {}),
    ...(timing.timezone ? { timezone: timing.timezone } : {}),
    ...(timing.jitter ? { jitter: ms('jitter', timing.jitter) } : {}),
  };
}

const timingOf = (action: { memo?: Record<string, unknown> }): ScheduleTiming =>
  (action.memo?.scheduleTiming as ScheduleTiming | undefined) ?? {};

/** What a schedule's runs are started with: an action's input, or an array's. */
const inputOf = (action: ScheduleDescription['action']): Partial<RunArrayInput> | undefined =>
  action.type === 'startWorkflow' ? (action.args as [Partial<RunArrayInput>] | undefined)?.[0] : undefined;

/** What each run starts: one action, or (given array options, checked here) an array of them. */
function runOf(spec: ActionSpecInput, array: ArrayOptionsInput | undefined) {
  const parsed = parseActionSpec(spec);
  const command = parsed.command ? ` ${[...parsed.command, ...(parsed.args ?? [])].join(' ')}` : '';
  if (!array) {
    const input: RunActionInput = { spec };
    return { parsed, workflowType: WORKFLOW_TYPE, input, summary: `${parsed.image}${command}`.slice(0, 200) };
  }
  const problems = arrayProblems(spec, array);
  if (problems.length) throw new InvalidSpecError(problems);
  const input: RunArrayInput = { spec, array };
  const summary = `array of ${array.items?.length ?? array.count} × ${parsed.image}${command}`.slice(0, 200);
  return { parsed, workflowType: ARRAY_WORKFLOW_TYPE, input, summary };
}

export class ActionSchedules {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** `timing` as written rides in the action's memo (Temporal describes cron expressions as calendars). */
  private action(
    scheduleId: string,
    spec: ActionSpecInput,
    timing: ScheduleTiming,
    fleet: FleetOptions = {},
    array?: ArrayOptionsInput,
  ) {
    const { parsed, workflowType, input, summary } = runOf(spec, array);
    return {
      type: 'startWorkflow' as const,
      workflowType,
      workflowId: scheduleId,
      taskQueue: this.taskQueue,
      args: [input, fleet],
      typedSearchAttributes: [
        { key: ActionStatusKey, value: 'PENDING' },
        { key: ActionImageKey, value: parsed.image },
        { key: ActionScheduleKey, value: scheduleId },
        ...(parsed.template ? [{ key: ActionTemplateKey, value: parsed.template }] : []),
      ],
      memo: { scheduleTiming: timing },
      staticSummary: summary,
    };
  }

  /** Creates the schedule; the spec is checked first (every problem at once), as for a start. */
  async create(scheduleId: string, spec: ActionSpecInput, options: ScheduleOptions): Promise<void> {
    if (!SCHEDULE_ID.test(scheduleId))
      throw new ScheduleError(
        'a schedule name is 1-150 letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    const timing: ScheduleTiming = {
      cron: options.cron,
      every: options.every,
      timezone: options.timezone,
      jitter: options.jitter,
    };
    // Everything is checked before the server is asked.
    const when = scheduleSpec(timing);
    const action = this.action(scheduleId, spec, timing, options.fleet, options.array);
    const catchupWindow = ms('catchupWindow', options.catchupWindow);
    await this.client.schedule
      .create({
        scheduleId,
        spec: when,
        action,
        policies: {
          overlap: OVERLAPS[options.overlap ?? 'skip'],
          ...(catchupWindow !== undefined ? { catchupWindow } : {}),
        },
        state: { paused: options.paused ?? false, note: options.note },
      })
      .catch((err: Error) => {
        throw new ScheduleError(`cannot create schedule ${scheduleId}: ${err.message}`);
      });
  }

  /**
   * Changes the timing, the policies, the spec or the array options; what is not given stays (a
   * schedule of arrays keeps its array options when given a new spec).
   */
  async update(scheduleId: string, change: { spec?: ActionSpecInput; options?: ScheduleOptions }): Promise<void> {
    const o = change.options ?? {};
    const timing: ScheduleTiming | undefined =
      o.cron?.length || o.every ? { cron: o.cron, every: o.every, timezone: o.timezone, jitter: o.jitter } : undefined;
    const retimed = timing ? scheduleSpec(timing) : undefined;
    await this.described(scheduleId);
    await this.handle(scheduleId).update((previous) => {
      const before = inputOf(previous.action);
      const spec = change.spec ?? (o.array ? before?.spec : undefined);
      const array = o.array ?? before?.array;
      return {
        ...previous,
        ...(retimed ? { spec: retimed } : {}),
        action: spec
          ? this.action(scheduleId, spec, timing ?? timingOf(previous.action), o.fleet, array)
          : { ...previous.action, memo: { scheduleTiming: timing ?? timingOf(previous.action) } },
        policies: {
          ...previous.policies,
          ...(o.overlap ? { overlap: OVERLAPS[o.overlap] } : {}),
          ...(o.catchupWindow ? { catchupWindow: ms('catchupWindow', o.catchupWindow)! } : {}),
        },
      };
    });
  }

  private handle(scheduleId: string) {
    return this.client.schedule.getHandle(scheduleId);
  }

  private async described(scheduleId: string): Promise<ScheduleDescription> {
    try {
      return await this.handle(scheduleId).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError)
        throw new ScheduleError(`no schedule named ${scheduleId}: caisson schedule list shows them`);
      throw err;
    }
  }

  async describe(scheduleId: string): Promise<ScheduleView> {
    const d = await this.described(scheduleId);
    const input = inputOf(d.action);
    const spec = input?.spec;
    const recent: ScheduleRun[] = [];
    for (const a of d.info.recentActions.slice(-10)) {
      const actionId = a.action.workflow.workflowId;
      const described = await this.client.workflow
        .getHandle(actionId)
        .describe()
        .catch(() => undefined);
      recent.push({
        actionId,
        scheduledAt: a.scheduledAt.toISOString(),
        status: described?.typedSearchAttributes.get(ActionStatusKey) ?? described?.status.name ?? 'unknown',
      });
    }
    return {
      scheduleId,
      paused: d.state.paused,
      note: d.state.note,
      overlap: overlapName(d.policies.overlap),
      timing: timingOf(d.action),
      image: typeof spec?.image === 'string' ? spec.image : '',
      template: typeof spec?.template === 'string' ? spec.template : undefined,
      ...(input?.array ? { array: input.array } : {}),
      next: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
      recent,
      skippedByOverlap: d.info.numActionsSkippedOverlap,
    };
  }

  /** The schedules that start actions or arrays (others in the namespace are left out). */
  async list(): Promise<{ scheduleId: string; paused: boolean; next?: string; note?: string }[]> {
    const rows = [];
    for await (const s of this.client.schedule.list()) {
      if (s.action?.workflowType !== WORKFLOW_TYPE && s.action?.workflowType !== ARRAY_WORKFLOW_TYPE) continue;
      rows.push({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        next: s.info.nextActionTimes[0]?.toISOString(),
        note: s.state.note,
      });
    }
    return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
  }

  async pause(scheduleId: string, note = 'paused with caisson'): Promise<void> {
    await this.described(scheduleId);
    await this.handle(scheduleId).pause(note);
  }

  async unpause(scheduleId: string, note = 'unpaused with caisson'): Promise<void> {
    await this.described(scheduleId);
    await this.handle(scheduleId).unpause(note);
  }

  /** Takes a run now, under the schedule's own overlap policy (a skip policy skips it while one runs). */
  async trigger(scheduleId: string): Promise<void> {
    const d = await this.described(scheduleId);
    await this.handle(scheduleId).trigger(d.policies.overlap);
  }

  /** Deletes the schedule; runs it started go on. */
  async delete(scheduleId: string): Promise<void> {
    await this.described(scheduleId);
    await this.handle(scheduleId).delete();
  }
}
