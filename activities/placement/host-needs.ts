// What an action holds on this host: the resources its spec asks, with this host's defaults (the
// policy's, then the worker's disk budget) for what it leaves out. Placing and the execute guard
// count the same needs, so that a run never holds more on execute than `place` gave it.
import type { Action } from '../../spec/action.js';
import { needsOf, type Needs } from '../../spec/placement.js';
import type { Policy } from '../trust/policy.js';

export function hostNeeds(
  spec: Action,
  defaults: Policy['defaults'],
  diskDefaults: { out: number; tmp: number },
): Needs {
  return needsOf(
    { resources: spec.resources, placement: spec.placement },
    {
      cpu: defaults.cpu,
      memory: defaults.memory,
      outDisk: defaults.outDisk ?? diskDefaults.out,
      tmpDisk: defaults.tmpDisk ?? diskDefaults.tmp,
    },
  );
}
