// An egress run's proxy as the container phases see it: started before its container is made (the
// container's environment names it), started again on the same port when a later try finds the
// container, and stopped once the run is done with it.
import type { ContainerRequest } from '../types.js';
import { refusedByHost } from '../trust/refused.js';
import type { EgressProxy } from './container-config.js';
import { LABEL } from './labels.js';
import type { RunDeps } from './run-deps.js';

/** The run's proxy, or none for a run without egress; `labels`: those of a container found again. */
export async function openRunProxy(
  deps: Pick<RunDeps, 'egress' | 'host'>,
  req: ContainerRequest,
  name: string,
  labels?: Record<string, string>,
): Promise<EgressProxy | undefined> {
  if (req.spec.network !== 'egress') return undefined;
  if (!deps.egress)
    throw refusedByHost(
      deps.host,
      'network',
      '"egress" is not granted by this host\'s policy (it has no egress proxy)',
    );
  const asked = Number(labels?.[LABEL.egressPort]);
  const port = Number.isInteger(asked) && asked > 0 && asked < 65536 ? asked : undefined;
  const opened = await deps.egress.open(name, req.actionId, req.spec.egress?.allow, port);
  return { ...opened, network: deps.egress.network.name };
}

/** Stops the run's proxy, if it has one. */
export const closeRunProxy = (deps: Pick<RunDeps, 'egress'>, name: string): Promise<void> =>
  deps.egress?.close(name) ?? Promise.resolve();
