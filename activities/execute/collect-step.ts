// The collect phase of an execute: once the container has stopped and no attempt follows, its slot
// goes back and /out and the logs are uploaded (with /out checked against the output schema).
import type { RunOutcome } from '../../spec/result.js';
import { collect } from '../collect/collect.js';
import { outputProblems } from '../collect/output-check.js';
import { timed, type ExecuteContext } from './context.js';
import type { Lookups } from './lookups.js';

export type Collected = Awaited<ReturnType<typeof collect>>;

export async function collectRun(ctx: ExecuteContext, outcome: RunOutcome, lookups: Lookups): Promise<Collected> {
  const { deps, req, progress } = ctx;
  // The container has stopped and no attempt follows: what is left (uploads) takes none of the
  // host's cores or memory, so the slot goes to the next action now. Its placement and dispatch
  // (tens of ms of Temporal round trips) then overlap this collect instead of following it.
  deps.capacity.release(req.runId);
  progress.phase = 'COLLECTING';
  ctx.beat();
  const includeOut = req.spec.collect === 'always' || (req.spec.collect === 'on-success' && outcome.exitCode === 0);
  const shipper = await lookups.log;
  const { firstFrame } = shipper;
  const collected = await timed(ctx, 'collect', async () => {
    const [answer] = await Promise.all([
      collect(
        {
          docker: deps.run.docker,
          host: deps.host,
          store: deps.store,
          outDir: deps.outDir,
          redactor: lookups.redactor,
          firstFrame,
        },
        { ...req, includeOut },
        ({ files, bytes }) => {
          progress.files = files;
          progress.bytes = bytes;
        },
      ),
      // The live log's end.json, begun as the container stopped: written before result.json.
      shipper.ended(),
    ]);
    return answer;
  });
  if (req.spec.outputSchema !== undefined && collected.output !== undefined && !collected.outputError) {
    collected.outputProblems = await outputProblems(req.spec.outputSchema, collected.output);
  }
  return collected;
}
