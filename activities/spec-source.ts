// What a host may trust about a run: the input that started it. Any worker of the namespace can
// schedule a host activity with a request of its own making, but it cannot change the run's
// WorkflowExecutionStarted event, the first event of the history the server keeps. The host reads
// that event with its own client (once per run, kept in a small cache) and checks it exactly as
// the workflow did: whoever started the run could have started an honest action with the same
// input, so a run passes here only with what an honest start would have run.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { checkActionSpec, type Action } from '../spec/action.js';
import { ArrayMemberSchema, type ArrayMember } from '../spec/array.js';
import { fleetSettings, WORKFLOW_TYPE, type FleetOptions, type RunActionInput } from '../spec/workflow-api.js';
import type { RunRef } from './types.js';

/** Runs whose start is kept: enough for every action a host runs at once, several times over. */
const CACHED_STARTS = 64;

/** The run as it was started: its spec (with the schema's defaults), its place in an array, its fleet options. */
export interface RunStart {
  spec: Action;
  member?: ArrayMember;
  fleet: Required<FleetOptions>;
  startedAt?: Date;
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
  private readonly cache = new Map<string, Promise<RunStart>>();

  constructor(private readonly client: Client) {}

  get namespace(): string {
    return this.client.options.namespace;
  }

  /** The run's start as its workflow checked it (the same functions, so the same defaults). */
  start(ref: RunRef): Promise<RunStart> {
    const key = `${ref.actionId}\n${ref.runId}`;
    let start = this.cache.get(key);
    if (!start) {
      start = this.read(ref);
      // A failed read is tried again by the next call; a refusal is final but costs one read.
      start.catch(() => this.cache.delete(key));
      this.cache.set(key, start);
      for (const old of this.cache.keys()) {
        if (this.cache.size <= CACHED_STARTS) break;
        this.cache.delete(old);
      }
    }
    return start;
  }

  private async read(ref: RunRef): Promise<RunStart> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.namespace,
      execution: { workflowId: ref.actionId, runId: ref.runId },
      maximumPageSize: 1,
    });
    const first = history?.events?.[0];
    const started = first?.workflowExecutionStartedEventAttributes;
    if (!started) throw new NotAnActionRun('runId', `the history of run ${ref.runId} of ${ref.actionId} does not begin with its start`);
    if (started.workflowType?.name !== WORKFLOW_TYPE) {
      throw new NotAnActionRun('workflowType', `run ${ref.runId} was started as ${JSON.stringify(started.workflowType?.name)}, not as ${WORKFLOW_TYPE}`);
    }
    const converter = this.client.options.loadedDataConverter;
    const input = await decodeFromPayloadsAtIndex<RunActionInput>(converter, 0, started.input?.payloads).catch(() => undefined);
    const parsed = checkActionSpec(input?.spec);
    if (!parsed.success) throw new NotAnActionRun('spec', `the run's start holds no valid action spec (the workflow refuses it too)`);
    const member = input?.member === undefined ? undefined : ArrayMemberSchema.safeParse(input.member);
    if (member && !member.success) throw new NotAnActionRun('member', `the run's start holds an invalid array member`);
    const options = await decodeFromPayloadsAtIndex<FleetOptions>(converter, 1, started.input?.payloads).catch(() => undefined);
    const at = first?.eventTime;
    return {
      spec: parsed.data,
      ...(member ? { member: member.data } : {}),
      fleet: fleetSettings(options),
      ...(at?.seconds != null ? { startedAt: new Date(Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6)) } : {}),
    };
  }
}
