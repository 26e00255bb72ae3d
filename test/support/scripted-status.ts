// A status reader that answers with a script of statuses, one per read, and settles `ended` at the
// last: the phase followers of the CLI driven without Temporal.
import type { StatusView } from '../../client/index.js';

/** A status of action a-1 in `phase`, with `extra` fields. */
export const statusIn = (phase: StatusView['phase'], extra: Partial<StatusView> = {}): StatusView => ({
  actionId: 'a-1',
  phase,
  image: 'registry.example/x:1',
  attempt: 1,
  placements: 0,
  timings: [],
  ...extra,
});

export function scriptedStatus(seen: StatusView[]) {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  let reads = 0;
  return {
    ended,
    read: async () => {
      const s = seen[reads++]!;
      if (reads === seen.length) end();
      return s;
    },
    reads: () => reads,
  };
}
