// Starts the real worker (the built one, as users run it) as a child process for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface WorkerProcess {
  process: ChildProcess;
  logFile: string;
  ready: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `entry`: another build's worker, e.g. an earlier commit's, for a before/after benchmark.
 * `netns`: the network namespace the worker runs in (a host of its own, harness/netns-host.ts).
 */
export function spawnWorker(
  name: string,
  env: Record<string, string>,
  entry = `${ROOT}/build/worker/main.js`,
  netns?: string,
): WorkerProcess {
  mkdirSync(`${ROOT}/test-results`, { recursive: true });
  // One log file per process, so that a test reading it never sees an earlier process's lines.
  const logFile = `${ROOT}/test-results/worker-${name}-${Date.now()}.log`;
  const log = createWriteStream(logFile, { flags: 'a' });
  // nsenter switches only the network namespace (not mounts: the host's cgroups and the worker's
  // disks stay visible) and execs the program itself, so signals reach the worker directly.
  const [command, args] = netns
    ? ['nsenter', [`--net=/var/run/netns/${netns}`, process.execPath, entry]]
    : [process.execPath, [entry]];
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (seen !== 'ready') {
        seen += chunk.toString();
        if (seen.includes('"worker started"')) {
          seen = 'ready';
          resolve();
        }
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`worker ${name} exited with ${code} before it was ready; see ${logFile}`)),
    );
  });
  return {
    process: child,
    logFile,
    ready,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
