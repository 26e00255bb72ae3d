// What a host may trust about a run: the input that started it. Any worker of the namespace can
// schedule a host activity with a request of its own making, but it cannot change the run's
// WorkflowExecutionStarted event, the first event of the history the server keeps. The host reads
// that event with its own client (once per run, kept in a small cache) and checks it exactly as
// the workflow did: whoever started the run could have started an honest action with the same
// input, so a run passes here only with what an honest start would have run.
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { checkActionSpec, type Action } from '../../spec/action.js';
import { ArrayMemberSchema, type ArrayMember } from '../../spec/array.js';
import { GangMemberSchema, replicaActionId, type GangMember } from '../../spec/gang.js';
import { fleetSettings, WORKFLOW_TYPE, type FleetOptions, type RunActionInput } from '../../spec/workflow-api.js';
import type { RunRef } from '../types.js';

/**
 * Starts kept, least recently used first out: every action a host runs, and those waiting for a
 * place (each retried `place` asks again), up to a count and a size (a spec may be 1.5 MiB).
 */
const CACHED_STARTS = 1024;
const CACHED_BYTES = 64 << 20;

/** The run as it was started: its spec (with the schema's defaults), its place in an array, its fleet options. */
export interface RunStart {
  spec: Action;
  member?: ArrayMember;
  /** A replica of a gang: its rank, gang and peers, as the gang's workflow started it. */
  replica?: GangMember;
  /** The run id of the workflow that started this one as its child (a replica's: its gang's run). */
  parentRunId?: string;
  fleet: Required<FleetOptions>;
  startedAt?: Date;
  /** The size of the start's input as stored: what keeping it in memory costs, about. */
  bytes: number;
}

/** The start event does not describe an action run that could have passed the workflow's checks. */
export class NotAnActionRun extends Error {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(why);
    this.name = 'NotAnActionRun';
  }
}

export class SpecSource {
  /** By run, in order of last use; `bytes`: the start's size once read. */
  private readonly cache = new Map<string, { start: Promise<RunStart>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly client: Client) {}

  get namespace(): string {
    return this.client.options.namespace;
  }

  /** The run's start as its workflow checked it (the same functions, so the same defaults). */
  start(ref: RunRef): Promise<RunStart> {
    const key = `${ref.actionId}\n${ref.runId}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key); // to the end: the most recently used
      this.cache.set(key, cached);
      return cached.start;
    }
    const entry = { start: this.read(ref), bytes: 0 };
    this.cache.set(key, entry);
    entry.start.then(
      (start) => {
        if (this.cache.get(key) !== entry) return;
        entry.bytes = start.bytes;
        this.bytes += start.bytes;
        this.evict();
      },
      // A failed read is tried again by the next call; a refusal is final but costs one read.
      () => this.forget(key, entry),
    );
    this.evict();
    return entry.start;
  }

  private forget(key: string, entry: { bytes: number }): void {
    if (this.cache.get(key) !== entry) return;
    this.cache.delete(key);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.cache) {
      if (this.cache.size <= CACHED_STARTS && this.bytes <= CACHED_BYTES) break;
      this.forget(key, entry);
    }
  }

  private async read(ref: RunRef): Promise<RunStart> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.namespace,
      execution: { workflowId: ref.actionId, runId: ref.runId },
      maximumPageSize: 1,
    });
    const first = history?.events?.[0];
    const started = first?.workflowExecutionStartedEventAttributes;
    if (!started)
      throw new NotAnActionRun(
        'runId',
        `the history of run ${ref.runId} of ${ref.actionId} does not begin with its start`,
      );
    if (started.workflowType?.name !== WORKFLOW_TYPE) {
      throw new NotAnActionRun(
        'workflowType',
        `run ${ref.runId} was started as ${JSON.stringify(started.workflowType?.name)}, not as ${WORKFLOW_TYPE}`,
      );
    }
    // Decoded once: the spec and the fleet options are its first two arguments.
    const args = await decodeArrayFromPayloads(this.client.options.loadedDataConverter, started.input?.payloads).catch(
      () => [],
    );
    const input = args[0] as RunActionInput | undefined;
    const parsed = checkActionSpec(input?.spec);
    if (!parsed.success)
      throw new NotAnActionRun('spec', `the run's start holds no valid action spec (the workflow refuses it too)`);
    const member = input?.member === undefined ? undefined : ArrayMemberSchema.safeParse(input.member);
    if (member && !member.success) throw new NotAnActionRun('member', `the run's start holds an invalid array member`);
    const replica = input?.replica === undefined ? undefined : GangMemberSchema.safeParse(input.replica);
    if (replica && !replica.success)
      throw new NotAnActionRun('replica', `the run's start holds an invalid gang replica`);
    const parentRunId = started.parentWorkflowExecution?.runId || undefined;
    // A replica is one only as its gang's run started it: a child of that very run, under the name
    // the gang gives it. A start of anyone's making that names a gang is no replica of it (it would
    // otherwise join that gang's network, or take its reservations).
    if (replica?.success) {
      const r = replica.data;
      const parent = started.parentWorkflowExecution;
      if (
        parent?.workflowId !== r.gangId ||
        parent?.runId !== r.gangRunId ||
        ref.actionId !== replicaActionId(r.gangId, r.index, r.attempt)
      )
        throw new NotAnActionRun(
          'replica',
          `run ${ref.runId} of ${ref.actionId} names replica ${r.index} of gang ${r.gangId}, but that gang's run did not start it`,
        );
    }
    const options = args[1] as FleetOptions | undefined;
    const at = first?.eventTime;
    return {
      spec: parsed.data,
      bytes: (started.input?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0),
      ...(member ? { member: member.data } : {}),
      ...(replica ? { replica: replica.data } : {}),
      ...(parentRunId ? { parentRunId } : {}),
      fleet: fleetSettings(options),
      ...(at?.seconds != null
        ? { startedAt: new Date(Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6)) }
        : {}),
    };
  }
}
