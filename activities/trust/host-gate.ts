// The door of every host activity. Whatever arrives on a host queue may come from any worker of
// the namespace, with a request of its own making, so nothing in a request is taken on trust:
//   - who asks: the run that scheduled the activity, as the server tells it (Context info);
//   - what runs: that run's start event, checked as the workflow checks it (spec-source.ts);
//   - what else the request says is compared with what the host derives, or bounded, and refused
//     with RefusedByHost naming the field when it does not hold.
// A request from an honest workflow always passes: it says exactly what the host derives.
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { Action } from '../../spec/action.js';
import { StepTimingSchema } from '../../spec/result.js';
import { WORKFLOW_TYPE, withoutBulk } from '../../spec/workflow-api.js';
import { refusedByHost } from './refused.js';
import { NotAnActionRun, type RunStart, type SpecSource } from './spec-source.js';
import type { ContainerRequest, ExecuteRequest, RunRef } from '../types.js';

export interface GateDeps {
  host: string;
  specs: SpecSource;
}

/** The run behind an activity: its identity from the server, its start from its history. */
export interface TrustedRun extends RunRef {
  start: RunStart;
}

/** Steps an action's history can hold: 20 attempts of pull, inputs and run, 10 placements, and room. */
const MAX_TIMINGS = 200;

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value);

/**
 * The run that scheduled this activity, refused unless it is an action run of this namespace whose
 * start passes the workflow's checks, and unless the request names that very run.
 */
export async function trustedRun(deps: GateDeps, claimed: Partial<RunRef> | undefined): Promise<TrustedRun> {
  const info = Context.current().info;
  const refuse = (field: string, why: string) => refusedByHost(deps.host, field, why);
  const execution = info.workflowExecution;
  if (!execution)
    throw refuse('workflow', 'host activities serve action runs only; this one was not scheduled by a workflow');
  if (info.workflowNamespace !== deps.specs.namespace) {
    throw refuse('namespace', `this host serves namespace ${deps.specs.namespace}, not ${info.workflowNamespace}`);
  }
  if (info.workflowType !== WORKFLOW_TYPE)
    throw refuse('workflowType', `host activities serve ${WORKFLOW_TYPE} runs, not ${show(info.workflowType)}`);
  if (claimed?.actionId !== execution.workflowId) {
    throw refuse(
      'actionId',
      `${show(claimed?.actionId)} is not the action that scheduled this activity (${execution.workflowId})`,
    );
  }
  if (claimed?.runId !== execution.runId)
    throw refuse('runId', `${show(claimed?.runId)} is not the run that scheduled this activity`);
  const ref = { actionId: execution.workflowId, runId: execution.runId };
  const start = await deps.specs.start(ref).catch((err) => {
    throw err instanceof NotAnActionRun ? refuse(err.field, err.message) : err;
  });
  return { ...ref, start };
}

/** JSON with every object's keys in one order: two equal values give one text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * What a spec says about what runs, with what, and where it reads and writes: the fields a forged
 * request would change. Values as checkActionSpec leaves them; lists a request of an older version
 * may lack are empty. Left out: fields whose parsed form a later version could read differently
 * (durations, retry, output), which the host takes from the start alone anyway.
 */
function whatRuns(spec: unknown, elided: boolean): string {
  const s = (spec ?? {}) as Partial<Action>;
  return canonical({
    image: s.image,
    ...(elided ? {} : { command: s.command, args: s.args, env: s.env ?? {} }),
    secrets: s.secrets ?? [],
    files: s.files ?? [],
    inputs: s.inputs ?? [],
    network: s.network,
    user: s.user,
    workingDir: s.workingDir,
    resources: s.resources,
    artifacts: { bucket: s.artifacts?.bucket, prefix: s.artifacts?.prefix },
    // Only when given: a spec without containers compares as it always did.
    ...(s.containers ? { containers: s.containers } : {}),
  });
}

/**
 * The spec the request carries must say what the run's own says (whole, or without its bulk when
 * elided). The host runs the start's spec whatever the request says; a request that differs is
 * refused so that a forgery is told, not quietly ignored.
 */
function checkSpec(host: string, carried: unknown, elided: unknown, start: RunStart): Action {
  if (elided !== undefined && elided !== true) throw refusedByHost(host, 'specElided', 'is true or absent');
  if (
    carried !== undefined &&
    whatRuns(carried, elided === true) !== whatRuns(elided ? withoutBulk(start.spec) : start.spec, elided === true)
  ) {
    throw refusedByHost(
      host,
      'spec',
      "differs from the spec the run was started with (the host runs only the run's own spec)",
    );
  }
  return start.spec;
}

/** The action's attempt counter: 1 up to the spec's retry.attempts. */
function checkAttempt(host: string, attempt: unknown, spec: Action): number {
  const most = spec.retry.attempts;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1 || attempt > most) {
    throw refusedByHost(
      host,
      'attempt',
      `${show(attempt)} is not an attempt of this run (1 to retry.attempts = ${most})`,
    );
  }
  return attempt;
}

/** The attempt and stop grace of a stop or removal; its spec, member and replica, if sent, are not used: the run's own are. */
export function checkStopRequest(host: string, req: ContainerRequest, run: TrustedRun): ContainerRequest {
  const { spec, member, replica, fleet } = run.start;
  const attempt = checkAttempt(host, req.attempt, spec);
  if (req.stopGraceSeconds !== fleet.stopGraceSeconds) {
    throw refusedByHost(
      host,
      'stopGraceSeconds',
      `${show(req.stopGraceSeconds)} is not the run's own (${fleet.stopGraceSeconds}, from its fleet options)`,
    );
  }
  return {
    actionId: run.actionId,
    runId: run.runId,
    attempt,
    spec,
    stopGraceSeconds: fleet.stopGraceSeconds,
    ...(member ? { member } : {}),
    ...(replica ? { replica } : {}),
  };
}

/** What a container request may say only as the run's start says it. */
function checkContainerRequest(host: string, req: ContainerRequest, run: TrustedRun): ContainerRequest {
  checkSpec(host, req.spec, (req as ExecuteRequest).specElided, run.start);
  const checked = checkStopRequest(host, req, run);
  const member = run.start.member;
  if (req.member?.index !== member?.index || req.member?.count !== member?.count) {
    throw refusedByHost(host, 'member', 'differs from the array member the run was started as');
  }
  // A replica is what the run's start says, whole (its rank, gang and peers), or none at all.
  if (canonical(req.replica ?? null) !== canonical(run.start.replica ?? null)) {
    throw refusedByHost(host, 'replica', 'differs from the gang replica the run was started as');
  }
  // A gang runs in its replicas' runs (each started with its `replica`), never in the gang's own.
  if ((checked.spec.replicas ?? 1) > 1 && !run.start.replica) {
    throw refusedByHost(host, 'replica', "a gang runs in its replicas' own runs, not in the gang's");
  }
  // GPU ids are the host's own choice, made at placement (capacity.ts). A request may repeat them
  // (a retry after the slot was freed still carries them), but a run that asked for none has none.
  const asked = checked.spec.resources.gpus;
  if (
    Array.isArray(req.gpuIds) ? req.gpuIds.length > 0 && (asked === undefined || asked === 0) : req.gpuIds !== undefined
  ) {
    throw refusedByHost(host, 'gpuIds', 'name GPUs for a run that asked for none (GPU ids are chosen by the host)');
  }
  return checked;
}

const ExecuteExtras = z.object({
  canceled: z.boolean(),
  startedAt: z
    .string()
    .max(64)
    .refine((t) => !Number.isNaN(Date.parse(t)), 'is a time'),
  timings: z.array(StepTimingSchema).max(MAX_TIMINGS),
});

/** An execute request with every field checked; the spec is the run's own. */
export function checkExecuteRequest(host: string, req: ExecuteRequest, run: TrustedRun): ExecuteRequest {
  const base = checkContainerRequest(host, req, run);
  const extras = ExecuteExtras.safeParse({ canceled: req.canceled, startedAt: req.startedAt, timings: req.timings });
  if (!extras.success) {
    const issue = extras.error.issues[0]!;
    throw refusedByHost(host, issue.path.join('.') || 'request', issue.message);
  }
  return { ...base, ...extras.data };
}
