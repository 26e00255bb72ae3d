// Live logs: how long a line takes from the container to a follower, and how a follower of a large
// log fares, each against a baseline measured in the same run:
//   - delay: the client following through S3 against `docker logs -f` of the very same container
//     (the engine's own stream), both measured from the engine's timestamp of each line;
//   - a large log: the CLI following it from the start (its peak memory), then reading it all
//     again, against one GetObject of the final logs/stdout.log.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type Docker from 'dockerode';
import type { ActionsClient } from '../client/index.js';
import { FrameSplitter, splitTimestamp } from '../common/storage/log-segments.js';
import { LABEL } from '../activities/container/labels.js';
import { rssBytes, withRssGrowth } from './rss.js';
import { summarize, type Summary } from './stats.js';

const CLI = fileURLToPath(new URL('../build/cli/main.js', import.meta.url));

const engineMs = (time: string) => Number(splitTimestamp(Buffer.from(`${time} `)).ns / 1_000_000n);

export interface DelayResult {
  lines: number;
  caisson: Summary;
  engine: Summary;
}

/** A line every 137 ms for ~`lines` lines: delays from the engine's time of each to its arrival. */
export async function benchLiveDelay(
  client: ActionsClient,
  docker: Docker,
  image: string,
  lines: number,
): Promise<DelayResult> {
  const handle = await client.start({
    image,
    command: ['sh', '-c', `i=0; while [ $i -lt ${lines} ]; do echo tick-$i; i=$((i+1)); usleep 137000; done`],
    timeout: '10m',
  });
  const engineDelays: number[] = [];
  const following = (async () => {
    // The same container's log straight from the engine, as `docker logs -f -t` reads it.
    let found: Docker.ContainerInfo | undefined;
    while (!found) {
      [found] = await docker.listContainers({ filters: { label: [`${LABEL.actionId}=${handle.actionId}`] } });
      if (!found) await new Promise((r) => setTimeout(r, 20));
    }
    const stream = (await docker
      .getContainer(found.Id)
      .logs({ follow: true, stdout: true, stderr: true, timestamps: true })) as unknown as AsyncIterable<Buffer>;
    const splitter = new FrameSplitter();
    for await (const chunk of stream) {
      const now = Date.now();
      for (const frame of splitter.push(chunk))
        engineDelays.push(now - Number(splitTimestamp(frame.payload).ns / 1_000_000n));
    }
  })();
  const delays: number[] = [];
  for await (const line of handle.logs({ follow: true })) delays.push(Date.now() - engineMs(line.time));
  await following;
  const result = await handle.result();
  if (result.status !== 'DONE' || delays.length !== lines)
    throw new Error(`live delay run: ${result.status}, ${delays.length} of ${lines} lines`);
  // The engine's follower may join after the first lines: only lines it saw as they came count.
  return { lines, caisson: summarize(delays), engine: summarize(engineDelays.slice(-Math.floor(lines / 2))) };
}

export interface BigLogResult {
  bytes: number;
  lines: number;
  /** What the action's result says was stored in logs/stdout.log. */
  stored: number;
  collectSeconds: number;
  workerRssGrowthBytes: number;
  /** The CLI following from the start while the action ran: lines it printed, its peak memory. */
  followedLines: number;
  followerPeakRssBytes: number;
  /** Reading the whole log once more after the end: the CLI (segments) vs one GetObject of stdout.log. */
  followerSeconds: number;
  s3ReadSeconds: number;
}

/** Runs the CLI's `logs` on an action, counting the lines it prints, sampling its memory. */
function cliLogs(actionId: string, args: string[]): Promise<{ lines: number; peakRss: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'logs', actionId, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    let peakRss = 0;
    const sample = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(child.pid!) || 0)), 50);
    child.stdout.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      if (code !== 0) reject(new Error(`caisson logs exited ${code}`));
      else resolve({ lines, peakRss, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function collectSeconds(timings: { step: string; ms: number }[]): number {
  return (timings.find((t) => t.step === 'collect')?.ms ?? NaN) / 1000;
}

/** A log of `bytes` in lines of 200 characters (1,000,000 lines for 200 MiB… give or take). */
export async function benchBigLog(
  client: ActionsClient,
  s3: S3Client,
  image: string,
  workerPid: number,
  bytes: number,
): Promise<BigLogResult> {
  const line = 'x'.repeat(199); // + newline: 200 bytes a line
  const lines = Math.floor(bytes / 200);
  const handle = await client.start({ image, command: ['sh', '-c', `yes ${line} | head -n ${lines}`], timeout: '30m' });
  const follower = cliLogs(handle.actionId, ['--follow']);
  const { value: result, growthBytes } = await withRssGrowth(workerPid, () => handle.result());
  const followed = await follower;
  const again = await cliLogs(handle.actionId, []);
  const uri = /^s3:\/\/([^/]+)\/(.+)$/.exec(result.logs!.stdout)!;
  const started = performance.now();
  const object = await s3.send(new GetObjectCommand({ Bucket: uri[1], Key: uri[2] }));
  let read = 0;
  for await (const chunk of object.Body as AsyncIterable<Buffer>) read += chunk.length;
  const s3ReadSeconds = (performance.now() - started) / 1000;
  if (read !== lines * 200 || again.lines !== lines)
    throw new Error(`big log: ${read} bytes in S3, ${again.lines} lines read back, ${lines} written`);
  return {
    bytes: lines * 200,
    lines,
    stored: result.logs?.bytes ?? 0,
    collectSeconds: collectSeconds(result.timings),
    workerRssGrowthBytes: growthBytes,
    followedLines: followed.lines,
    followerPeakRssBytes: followed.peakRss,
    followerSeconds: again.seconds,
    s3ReadSeconds,
  };
}
