// Egress on this host, where the policy grants it: the engine's egress network made (or found),
// and the proxies each egress action gets. Without the grant nothing is made and no proxy runs.
import type Docker from 'dockerode';
import type { Logger } from '@temporalio/worker';
import type { Policy } from '../activities/trust/policy.js';
import { ensureEgressNetwork } from '../activities/egress/egress-network.js';
import { EgressProxies } from '../activities/egress/egress-proxies.js';

export async function startEgress(policy: Policy, docker: Docker, log: Logger): Promise<EgressProxies | undefined> {
  if (!policy.egress) return undefined;
  const network = await ensureEgressNetwork(docker).catch((err: Error) => {
    throw new Error(`the policy grants egress, but its network cannot be set up: ${err.message}`);
  });
  // Each line is the proxy's own (a connection, a request, a refusal), under the action it serves.
  return new EgressProxies(network, policy.egress.allow, (line, attrs) => log.info(`egress proxy: ${line}`, attrs));
}
