// Many trivial actions through one worker of capacity 4, against `xargs -P4 docker run --rm` (the
// baseline: plain, as a user would run it) and, beside it, the same with `--network none`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ActionHandle, ActionsClient } from '../client/index.js';

const exec = promisify(execFile);

export interface ThroughputResult {
  actions: number;
  caissonPerSecond: number;
  baselinePerSecond: number;
  networkNonePerSecond: number;
}

/** The faster of the two xargs baselines: every ratio is against it. */
export const fasterBaseline = (t: ThroughputResult): number => Math.max(t.baselinePerSecond, t.networkNonePerSecond);

export async function benchThroughput(
  client: ActionsClient,
  image: string,
  actions: number,
): Promise<ThroughputResult> {
  const xargs = async (flags: string) => {
    const began = performance.now();
    await exec('sh', ['-c', `seq ${actions} | xargs -P4 -I{} docker run --rm ${flags}${image} true`]);
    return (performance.now() - began) / 1000;
  };
  const baselineSeconds = await xargs('');
  const networkNoneSeconds = await xargs('--network none ');

  const started = performance.now();
  // Started 50 at a time and awaited in order: thousands of calls at once on one connection are
  // refused by the client's channel, and the actions queue in Temporal either way.
  const handles: ActionHandle[] = [];
  for (let i = 0; i < actions; i += 50) {
    handles.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, actions - i) }, () =>
          client.start({ image, command: ['true'], timeout: '5m' }),
        ),
      )),
    );
  }
  const results = [];
  for (const h of handles) results.push(await h.result());
  const seconds = (performance.now() - started) / 1000;
  const notDone = results.filter((r) => r.status !== 'DONE');
  if (notDone.length)
    throw new Error(`${notDone.length} of ${actions} actions did not end DONE: ${notDone[0]!.message}`);
  return {
    actions,
    caissonPerSecond: actions / seconds,
    baselinePerSecond: actions / baselineSeconds,
    networkNonePerSecond: actions / networkNoneSeconds,
  };
}
