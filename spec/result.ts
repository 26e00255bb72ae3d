// What an action run ends with: the workflow's result, `result.json` next to the artifacts, and the
// details of the failure when the workflow ends FAILED or CANCELED; and the status rules that
// decide it (which phase follows which, a result's status for how its run ended).

// The shapes are zod schemas, so that the published JSON Schema (schema/, npm run schema) and these
// types come from one definition; nothing parses results with them at run time.
import { z } from 'zod';
import { once } from './shared.js';
import { formatBytes, formatDuration } from './quantity.js';

export const ActionStatusSchema = once('result/ActionStatusSchema', () => z.enum(['DONE', 'FAILED', 'CANCELED']));
export type ActionStatus = z.infer<typeof ActionStatusSchema>;
export type Phase = 'PENDING' | 'PULLING' | 'RUNNING' | 'COLLECTING' | ActionStatus;

/**
 * Why an action ended as it did. `exit` is a plain exit code; the others say the exit code
 * alone would mislead (137 after an OOM kill, 143 after a deadline) or that nothing ran.
 * `disk-full`: the container wrote more than its budget outside /out and /tmp_disk.
 * `init-failed`: an init container (spec.containers) exited non-zero; the main ones never started.
 */
export const EndReasonSchema = once('result/EndReasonSchema', () =>
  z.enum([
    'exit',
    'oom',
    'disk-full',
    'engine-restarted',
    'timeout',
    'deadline',
    'canceled',
    'invalid-spec',
    'image-not-found',
    'image-unauthorized',
    'image-not-allowed',
    'registry-unreachable',
    'gpu-unavailable',
    'secret-missing',
    'container-refused',
    'init-failed',
    'policy',
    'artifacts-unavailable',
    'no-host',
    'no-host-fits',
    'output-not-json',
    'output-invalid',
    'input-unavailable',
    'error',
  ]),
);
export type EndReason = z.infer<typeof EndReasonSchema>;

/** Why an action ended before or besides its container's exit. */
export interface Ending {
  reason: EndReason;
  message: string;
}

export const ArtifactSchema = once('result/ArtifactSchema', () =>
  z.object({
    path: z.string().describe('Path inside /out, with "/" separators.'),
    uri: z.string(),
    size: z.number().int().nonnegative(),
  }),
);
export type Artifact = z.infer<typeof ArtifactSchema>;

/** An input staged into /in before the container started. */
export const StagedInputSchema = once('result/StagedInputSchema', () =>
  z.object({
    path: z.string().describe('Its path in the container.'),
    source: z.string().describe('The S3 object it came from.'),
    size: z.number().int().nonnegative(),
    sha256: z.string(),
    cached: z
      .boolean()
      .describe("Copied from the host's cache: another action on the host had fetched this object version."),
  }),
);
export type StagedInput = z.infer<typeof StagedInputSchema>;

/** The result lists this many inputs; inputTotals counts them all. */
const LISTED_INPUTS = 1000;

export const StepTimingSchema = once('result/StepTimingSchema', () =>
  z.object({
    /** `inputs`: staging the spec's inputs into /in, before the container started (inside `run`). */
    step: z.enum(['place', 'pull', 'inputs', 'run', 'collect', 'finalize', 'cleanup']),
    startedAt: z.string(),
    ms: z.number(),
  }),
);
export type StepTiming = z.infer<typeof StepTimingSchema>;

const Totals = once('result/Totals', () =>
  z.object({ files: z.number().int().nonnegative(), bytes: z.number().nonnegative() }),
);
const ContainerEnd = once('result/ContainerEnd', () =>
  z.object({
    exitCode: z.number().int().nullable().describe('null: it never ran, or never ended on its own.'),
    logs: z.object({ stdout: z.string(), stderr: z.string() }).optional(),
  }),
);
const DiskFull = once('result/DiskFull', () => z.object({ bytes: z.number().nonnegative() }));

export interface RunOutcome {
  exitCode: number | null;
  reason: EndReason;
  startedAt?: string;
  finishedAt?: string;
  /** Highest memory use sampled while it ran, for tuning `resources.memory`. */
  peakMemoryBytes?: number;
  /** CPU time the container used, user + system. */
  cpuSeconds?: number;
  logTail: string[];
  containerId?: string;
  /** How often this run attached to an already existing container (after a worker crash). */
  reattached: number;
  /** The container's disk (/out and /tmp_disk) was full when it ended: writes had failed with ENOSPC. */
  diskFull?: { bytes: number };
  /** Its own filesystem (outside /out and /tmp_disk) held more than its budget: reason `disk-full`. */
  rootfsFull?: { bytes: number; budget: number };
  /** What was staged into /in, and how long that took. */
  inputs?: StagedInput[];
  inputsTiming?: StepTiming;
  /** Each container of a pod (spec.containers) by name, "main" too: its exit code (null: never ended). */
  containers?: Record<string, { exitCode: number | null }>;
  /** The init container whose failure ended the run (reason `init-failed`). */
  initFailed?: { container: string; exitCode: number };
}

/** What an action ends with: the workflow's result, result.json, and the details of a FAILED or CANCELED run. */
/** How one replica of a gang ended, in the gang's result. */
const ReplicaEndSchema = once('result/ReplicaEndSchema', () =>
  z.object({
    rank: z.number().int(),
    actionId: z.string().describe("The replica's own action (its logs, its result.json)."),
    host: z.string().optional(),
    status: ActionStatusSchema,
    exitCode: z.number().int().nullable(),
    reason: EndReasonSchema,
    message: z.string(),
    resultUri: z.string().optional(),
  }),
);
export type ReplicaEnd = z.infer<typeof ReplicaEndSchema>;

export const ActionResultSchema = once('result/ActionResultSchema', () =>
  z.object({
    actionId: z.string(),
    runId: z.string(),
    status: ActionStatusSchema,
    exitCode: z.number().int().nullable(),
    reason: EndReasonSchema,
    message: z.string().describe('Plain words for the reason or the well-known exit code.'),
    image: z.string(),
    imageDigest: z.string().optional(),
    host: z.string().optional(),
    gpus: z
      .array(z.string())
      .optional()
      .describe('The GPU device ids the host gave the action (no other action running there had them).'),
    attempts: z.number().int(),
    peakMemoryBytes: z.number().optional(),
    cpuSeconds: z.number().optional(),
    timings: z.array(StepTimingSchema),
    artifacts: z.array(ArtifactSchema).describe('The first 1000 files of /out; artifactTotals counts all of them.'),
    artifactTotals: Totals,
    skipped: z
      .array(z.object({ path: z.string(), why: z.string() }))
      .describe('The first 100 entries of /out that were not uploaded (symlinks, devices, unsafe names), with why.'),
    skippedTotal: z
      .number()
      .int()
      .optional()
      .describe('How many entries of /out were not uploaded, also those past the listed ones.'),
    logs: z
      .object({
        stdout: z.string(),
        stderr: z.string(),
        bytes: z.number(),
        truncated: z.boolean().optional(),
        earlier: z
          .array(z.object({ attempt: z.number().int(), stdout: z.string(), stderr: z.string() }))
          .optional()
          .describe('The full logs of each attempt before the last one (retry), in order.'),
      })
      .optional()
      .describe(
        "Where stdout and stderr were stored, and how many bytes. truncated: the log went past the action's logSize (512 MiB by default): " +
          'the stored logs hold its newest logSize (the engine drops the beginning), the live log its first logSize.',
      ),
    liveLogs: z.string().optional().describe('The live log of every attempt, as segments: what followers read.'),
    resultUri: z.string().optional(),
    logTail: z.array(z.string()),
    output: z.unknown().optional(),
    outputProblems: z
      .array(z.object({ pointer: z.string(), message: z.string() }))
      .optional()
      .describe("Where the output does not meet the spec's outputSchema (JSON pointer and message), when it does not."),
    inputs: z
      .array(StagedInputSchema)
      .optional()
      .describe('The first 1000 inputs staged into /in; inputTotals counts them all.'),
    inputTotals: Totals.optional(),
    diskFull: DiskFull.optional().describe("Set when the container's disk budget (/out and /tmp_disk) was used up."),
    containers: z
      .record(z.string(), ContainerEnd)
      .optional()
      .describe('Each container of a pod (spec.containers) by name, "main" for the top-level one.'),
    replicas: z
      .array(ReplicaEndSchema)
      .optional()
      .describe("A gang's replicas (spec.replicas), by rank: each one's child action and how it ended."),
    startedAt: z.string(),
    finishedAt: z.string(),
  }),
);
export type ActionResult = z.infer<typeof ActionResultSchema>;

const EXIT_HINTS: Record<number, string> = {
  125: 'the container engine could not run the container',
  126: 'the command was found but is not executable',
  127: 'the command was not found in the image',
  137: 'killed (SIGKILL)',
  139: 'segmentation fault (SIGSEGV)',
  143: 'terminated (SIGTERM)',
};

export function describeOutcome(exitCode: number | null, reason: EndReason, detail?: string): string {
  switch (reason) {
    case 'oom':
      return 'killed for using more memory than its limit (resources.memory); raise the limit or use less';
    case 'disk-full':
      return `wrote more than its disk budget outside /out and /tmp_disk${detail ? ` (${detail})` : ''}; write large files to /tmp_disk or /out, or raise resources.tmpDisk`;
    case 'engine-restarted':
      return `the container engine stopped while it ran (exit ${exitCode}); it can be run again with retry.onReasons ["engine-restarted"]`;
    case 'timeout':
      return `stopped at its deadline (timeout${detail ? ` ${detail}` : ''})`;
    case 'canceled':
      return 'canceled; the container was stopped and its output collected';
    case 'deadline':
      return `its deadline${detail ? ` (${detail})` : ''} passed${exitCode !== null ? '; the container was stopped and its output collected' : ' before it ran'}`;
    case 'init-failed':
      return `init container ${detail} exited ${exitCode}; the main containers never started`;
    case 'exit':
      if (exitCode === 0) return 'exited 0';
      return `exited ${exitCode}${exitCode !== null && EXIT_HINTS[exitCode] ? `: ${EXIT_HINTS[exitCode]}` : ''}`;
    default:
      return detail ?? reason;
  }
}

/** Whether an attempt's outcome calls for another attempt under the spec's retry policy. */
export function runsAgain(
  retry: { attempts: number; onExitCodes: number[]; onReasons: string[] },
  attempt: number,
  outcome: Pick<RunOutcome, 'reason' | 'exitCode'>,
): boolean {
  if (attempt >= retry.attempts) return false;
  if (outcome.reason === 'exit') return outcome.exitCode !== null && retry.onExitCodes.includes(outcome.exitCode);
  return (
    (outcome.reason === 'oom' || outcome.reason === 'timeout' || outcome.reason === 'engine-restarted') &&
    retry.onReasons.includes(outcome.reason)
  );
}

// The status rules: which phase follows which, and what status a result has for how its run
// ended. The workflow decides by them; a client reading a status can rely on them.

/** The phases an action ends in: nothing follows them. */
export function isFinal(phase: Phase): phase is ActionStatus {
  return phase === 'DONE' || phase === 'FAILED' || phase === 'CANCELED';
}

/**
 * What moves an action from one phase to another in the workflow (the host's heartbeat tells
 * PULLING and COLLECTING within RUNNING).
 */
export type PhaseEvent = { kind: 'placed' } | { kind: 'host-lost' } | { kind: 'ended'; status: ActionStatus };

/** Placed on a host it runs, a silent host sends it back to waiting, and its end is its result's status. */
export function phaseAfter(phase: Phase, event: PhaseEvent): Phase {
  if (isFinal(phase)) return phase;
  switch (event.kind) {
    case 'placed':
      return 'RUNNING';
    case 'host-lost':
      return 'PENDING';
    case 'ended':
      return event.status;
  }
}

/**
 * A result's status for how its run ended: CANCELED once a cancel reached it; DONE only for a
 * plain exit 0 that nothing ended early; FAILED for every other reason.
 */
export function resultStatus(end: {
  canceled: boolean;
  endedEarly: boolean;
  reason: EndReason;
  exitCode: number | null;
}): ActionStatus {
  if (end.canceled) return 'CANCELED';
  return !end.endedEarly && end.reason === 'exit' && end.exitCode === 0 ? 'DONE' : 'FAILED';
}

/** How a run ends when its deadline (ms after its start) passed: stopped and collected, or before it ran. */
export function deadlineEnding(exitCode: number | null, deadline: number): Ending {
  return { reason: 'deadline', message: describeOutcome(exitCode, 'deadline', formatDuration(deadline)) };
}

/** What the workflow saw of a run's end besides its host: a cancel from a caller, its deadline passing. */
export interface EndSeen {
  canceled: boolean;
  deadlinePassed: boolean;
  /** The spec's deadline, ms after the start. */
  deadline?: number;
}

/**
 * The host's result restated where the workflow knows better, or undefined where it stands: a
 * container the host stopped at the deadline ends FAILED ("deadline"), not CANCELED; a cancel that
 * reached the host after its container had ended still ends the action CANCELED.
 */
export function restatedResult(result: ActionResult, seen: EndSeen): ActionResult | undefined {
  if (seen.deadlinePassed && !seen.canceled && result.status === 'CANCELED')
    return { ...result, status: 'FAILED', ...deadlineEnding(result.exitCode, seen.deadline!) };
  if (seen.canceled && result.status !== 'CANCELED')
    return { ...result, status: 'CANCELED', reason: 'canceled', message: describeOutcome(result.exitCode, 'canceled') };
  return undefined;
}

/** What collecting a finished run produced: /out in S3, the logs, and stdout parsed as JSON. */
export interface Collected {
  artifacts: Artifact[];
  skipped: { path: string; why: string }[];
  /** Every skipped entry counts here, also those past the listed ones. */
  skippedTotal?: number;
  /** Every uploaded file counts here, also those past the listed ones. */
  totals: { files: number; bytes: number };
  logs: { stdout: string; stderr: string; bytes: number; truncated?: boolean };
  /** stdout parsed as JSON when spec.output is "json". */
  output?: unknown;
  outputError?: string;
  /** Where the output does not meet outputSchema (the output is kept as it is). */
  outputProblems?: { pointer: string; message: string }[];
  /** The logs of a pod's other containers (spec.containers), by name. */
  containerLogs?: Record<string, { stdout: string; stderr: string }>;
}

export interface ResultParts {
  actionId: string;
  runId: string;
  image: string;
  timeoutText: string;
  imageDigest?: string;
  host?: string;
  attempts: number;
  outcome?: RunOutcome;
  collected?: Collected;
  /** Why the action ended before or besides its container's exit, when it did. */
  ended?: Ending;
  canceled: boolean;
  timings: StepTiming[];
  startedAt: string;
  finishedAt: string;
}

/** How far over its budget the container's own filesystem went, in words: "2048Mi written, the budget is 64Mi". */
function rootfsText(outcome: RunOutcome | undefined): string | undefined {
  const full = outcome?.rootfsFull;
  return full && `${Math.round(full.bytes / 2 ** 20)}Mi written, the budget is ${formatBytes(full.budget)}`;
}

/** Each container's end and logs: "main"'s are the action's own. */
function containerEnds(outcome: RunOutcome, collected: Collected | undefined): ActionResult['containers'] {
  return Object.fromEntries(
    Object.entries(outcome.containers ?? {}).map(([name, end]) => {
      const logs = name === 'main' ? collected?.logs : collected?.containerLogs?.[name];
      return [
        name,
        { exitCode: end.exitCode, ...(logs ? { logs: { stdout: logs.stdout, stderr: logs.stderr } } : {}) },
      ];
    }),
  );
}

/** The one place that decides an action's status, reason and message from what happened. */
export function assembleResult(parts: ResultParts): ActionResult {
  const { outcome, collected, ended, canceled } = parts;
  let reason: EndReason = canceled ? 'canceled' : (ended?.reason ?? outcome?.reason ?? 'error');
  let message =
    ended?.message ??
    describeOutcome(
      outcome?.exitCode ?? null,
      reason,
      reason === 'disk-full'
        ? rootfsText(outcome)
        : reason === 'init-failed'
          ? outcome?.initFailed?.container
          : parts.timeoutText,
    );
  if (canceled) message = describeOutcome(outcome?.exitCode ?? null, 'canceled');
  if (!canceled && !ended && collected?.outputError && outcome?.exitCode === 0) {
    reason = 'output-not-json';
    message = collected.outputError;
  } else if (!canceled && !ended && collected?.outputProblems?.length && outcome?.exitCode === 0 && reason === 'exit') {
    reason = 'output-invalid';
    const shown = collected.outputProblems.slice(0, 5).map((p) => `${p.pointer || '/'} ${p.message}`);
    message = `the output does not meet the outputSchema: ${shown.join('; ')}${collected.outputProblems.length > 5 ? ` (and ${collected.outputProblems.length - 5} more)` : ''}`;
  }
  const status = resultStatus({ canceled, endedEarly: !!ended, reason, exitCode: outcome?.exitCode ?? null });
  if (outcome?.diskFull && status !== 'DONE') {
    const mib = Math.round(outcome.diskFull.bytes / 2 ** 20);
    message += `; its disk was full (/out and /tmp_disk share ${mib}Mi, and writes fail with "No space left on device"): raise resources.outDisk or resources.tmpDisk`;
  }
  return {
    actionId: parts.actionId,
    runId: parts.runId,
    status,
    exitCode: outcome?.exitCode ?? null,
    reason,
    message,
    image: parts.image,
    imageDigest: parts.imageDigest,
    host: parts.host,
    attempts: parts.attempts,
    peakMemoryBytes: outcome?.peakMemoryBytes,
    cpuSeconds: outcome?.cpuSeconds,
    timings: parts.timings,
    artifacts: collected?.artifacts ?? [],
    artifactTotals: collected?.totals ?? { files: 0, bytes: 0 },
    skipped: collected?.skipped ?? [],
    ...(collected?.skippedTotal !== undefined ? { skippedTotal: collected.skippedTotal } : {}),
    logs: collected?.logs,
    logTail: outcome?.logTail ?? [],
    output: collected?.output,
    ...(collected?.outputProblems?.length ? { outputProblems: collected.outputProblems } : {}),
    ...(outcome?.inputs?.length
      ? {
          inputs: outcome.inputs.slice(0, LISTED_INPUTS),
          inputTotals: { files: outcome.inputs.length, bytes: outcome.inputs.reduce((sum, i) => sum + i.size, 0) },
        }
      : {}),
    diskFull: outcome?.diskFull,
    ...(outcome?.containers ? { containers: containerEnds(outcome, collected) } : {}),
    startedAt: parts.startedAt,
    finishedAt: parts.finishedAt,
  };
}

/** Runs one step and records how long it took, whatever its outcome. */
export async function timeStep<T>(timings: StepTiming[], step: StepTiming['step'], fn: () => Promise<T>): Promise<T> {
  const began = new Date();
  try {
    return await fn();
  } finally {
    timings.push({ step, startedAt: began.toISOString(), ms: Date.now() - began.getTime() });
  }
}
