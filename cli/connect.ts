// The Temporal connection a command holds for its run, and the Temporal UI link of an action.
// The client (Temporal's SDK, the AWS SDK) is loaded on first use: a command that fails on its
// flags or its spec ends before that, in well under a second.
import type { ActionsClient } from '../client/index.js';
import { actionUiLink } from '../common/text/ui-link.js';

export async function withClient<T>(fn: (client: ActionsClient) => Promise<T>): Promise<T> {
  const { ActionsClient } = await import('../client/index.js');
  const client = await ActionsClient.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export const uiLink = (actionId: string) =>
  actionUiLink(process.env.TEMPORAL_UI_URL, process.env.TEMPORAL_NAMESPACE || 'default', actionId);

export const out = (text: string) => void process.stdout.write(text + '\n');
export const err = (text: string) => void process.stderr.write(text + '\n');
