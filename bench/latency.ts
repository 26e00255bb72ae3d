// End-to-end latency of a trivial action (`true` in the busybox test image), client start → result,
// against `docker run --rm` of the same image by the docker CLI and by dockerode, in the same run.
// The baseline is plain `docker run --rm`: what a user would type, and the same isolation the action
// gets (the engine's networking off; on the dev engine a plain run has loopback only too). The
// `--network none` variant pays the engine's network hook (~90 ms here) and is reported beside it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { ActionsClient } from '../client/index.js';
import { summarize, type Summary } from './stats.js';

const exec = promisify(execFile);

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export interface LatencyResult {
  caisson: Summary;
  /** `docker run --rm IMAGE true`: the baseline. */
  dockerCli: Summary;
  /** `docker run --rm --network none IMAGE true`, beside it. */
  dockerCliNetworkNone: Summary;
  dockerode: Summary;
}

export async function benchLatency(
  client: ActionsClient,
  docker: Docker,
  image: string,
  runs: number,
): Promise<LatencyResult> {
  const viaCaisson = async () => {
    const result = await (await client.start({ image, command: ['true'], timeout: '1m' })).result();
    if (result.status !== 'DONE') throw new Error(`trivial action ended ${result.status}: ${result.message}`);
  };
  const viaCli = () => exec('docker', ['run', '--rm', image, 'true']);
  const viaCliNone = () => exec('docker', ['run', '--rm', '--network', 'none', image, 'true']);
  const viaDockerode = async () => {
    const container = await docker.createContainer({ Image: image, Cmd: ['true'], NetworkDisabled: true });
    await container.start();
    await container.wait();
    await container.remove({ force: true });
  };
  const samples = {
    caisson: [] as number[],
    dockerCli: [] as number[],
    dockerCliNetworkNone: [] as number[],
    dockerode: [] as number[],
  };
  for (let i = 0; i < 3; i++) await Promise.all([viaCaisson(), viaCli(), viaCliNone(), viaDockerode()]);
  // Interleaved, so that drift of the machine's load weighs on all alike.
  for (let i = 0; i < runs; i++) {
    samples.caisson.push(await time(viaCaisson));
    samples.dockerCli.push(await time(viaCli));
    samples.dockerCliNetworkNone.push(await time(viaCliNone));
    samples.dockerode.push(await time(viaDockerode));
  }
  return {
    caisson: summarize(samples.caisson),
    dockerCli: summarize(samples.dockerCli),
    dockerCliNetworkNone: summarize(samples.dockerCliNetworkNone),
    dockerode: summarize(samples.dockerode),
  };
}
