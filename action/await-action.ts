// Awaiting an action by its id alone: the step names an action another step (or anything else)
// started, and attaches to it instead of starting one, so its spec need not be repeated.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ActionHandle, ActionsClient } from '../client/index.js';

/** The action-id names no action: said plainly, with what would start one. */
export class NoSuchActionError extends Error {
  constructor(actionId: string, namespace: string) {
    super(
      `action-id ${actionId}: no such action in namespace ${namespace}; give image, spec-file or template to start it`,
    );
    this.name = 'NoSuchActionError';
  }
}

/** A handle on the existing action `actionId`; refused when there is none. */
export async function attachExisting(
  client: ActionsClient,
  actionId: string,
  namespace: string,
): Promise<ActionHandle> {
  try {
    await client.client.workflow.getHandle(actionId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NoSuchActionError(actionId, namespace);
    throw err;
  }
  return client.attach(actionId);
}
