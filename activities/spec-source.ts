// Specs too large to copy into every activity call are read by the host from where they already
// are: the input of the run's WorkflowExecutionStarted event, the first event of its history. One
// read per run and host, kept in a small cache; the history then holds the spec once, however many
// attempts the run takes.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { checkActionSpec, type Action } from '../spec/action.js';
import type { RunActionInput } from '../spec/workflow-api.js';
import type { RunRef } from './types.js';

/** Runs whose full spec is kept: enough for every action a host runs at once, several times over. */
const CACHED_SPECS = 32;

export class SpecSource {
  private readonly cache = new Map<string, Promise<Action>>();

  constructor(private readonly client: Client) {}

  /** The run's spec as its workflow checked it (the same function, so the same defaults). */
  load(ref: RunRef): Promise<Action> {
    let spec = this.cache.get(ref.runId);
    if (!spec) {
      spec = this.read(ref);
      spec.catch(() => this.cache.delete(ref.runId)); // a failed read is tried again by the next call
      this.cache.set(ref.runId, spec);
      for (const runId of this.cache.keys()) {
        if (this.cache.size <= CACHED_SPECS) break;
        this.cache.delete(runId);
      }
    }
    return spec;
  }

  private async read(ref: RunRef): Promise<Action> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId: ref.actionId, runId: ref.runId },
      maximumPageSize: 1,
    });
    const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) throw new Error(`the history of run ${ref.runId} of ${ref.actionId} does not begin with its start`);
    const input = await decodeFromPayloadsAtIndex<RunActionInput>(this.client.options.loadedDataConverter, 0, started.input?.payloads);
    const parsed = checkActionSpec(input?.spec);
    // The workflow accepted this very input: a refusal here means the history is not the run's.
    if (!parsed.success) throw new Error(`the spec in the history of ${ref.actionId} does not pass the checks it passed at start`);
    return parsed.data;
  }
}
