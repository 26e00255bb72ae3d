// A test host of its own on this machine: a network namespace joined to the root one by a veth pair
// (198.18.<n>.1 on the root side, .2 inside: the range reserved for network tests, nothing routed
// beyond the link but to the other such hosts, through the root namespace), its own Docker engine
// and its own worker, told its address as the one its gang peers reach (CAISSON_HOST_ADDRESS). The services it needs (Temporal,
// MinIO, the registry) listen on the root namespace's loopback only; a forwarder there listens on
// the veth address in front of them, and one inside gives them back on the namespace's loopback.
// Cutting the link is a host lost to the network; healing it brings the host back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startExtraDockerd, type ExtraDockerd } from './extra-dockerd.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';
import { addVethNamespace, ip, removeVethNamespace } from './veth-namespace.js';

const FORWARD = fileURLToPath(new URL('./tcp-forward.mjs', import.meta.url));
/** What a host reaches on the root namespace's loopback: Temporal, MinIO, the registry. */
const SERVICE_PORTS = [7233, 9000, 5000];

function forwarder(pairs: string[], netns?: string): Promise<ChildProcess> {
  const [command, args] = netns
    ? ['nsenter', [`--net=/var/run/netns/${netns}`, process.execPath, FORWARD, ...pairs]]
    : [process.execPath, [FORWARD, ...pairs]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let said = '';
    child.stdout!.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('forwarding')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    child.once('exit', (code) => reject(new Error(`forwarder exited with ${code}: ${said}`)));
  });
}

export interface NetnsHost {
  name: string;
  netns: string;
  /** Its address on the link (198.18.<n>.2), reached from the other hosts. */
  address: string;
  engine: ExtraDockerd;
  worker: WorkerProcess;
  /** The link goes down: the host cannot reach Temporal, S3 or the registry, nor they it. */
  cut(): Promise<void>;
  heal(): Promise<void>;
  stop(): Promise<void>;
}

export interface NetnsHostOptions {
  /** The engine's NVIDIA driver without a GPU (extra-dockerd.ts). */
  fakeNvidiaHook?: boolean;
}

/**
 * Host number `n` (1–250, unique among the hosts alive at once) named `name`, its worker with
 * `workerEnv` on top of this process's environment.
 */
export async function startNetnsHost(
  n: number,
  name: string,
  workerEnv: Record<string, string>,
  options: NetnsHostOptions = {},
): Promise<NetnsHost> {
  const tag = `${process.pid % 10000}x${n}`;
  const netns = `cs-${tag}`;
  const outside = `csh${tag}`; // interface names are at most 15 characters
  const inside = `csn${tag}`;
  const root = `198.18.${n}.1`;
  const mine = `198.18.${n}.2`;
  const dir = mkdtempSync(join(tmpdir(), `caisson-host-${name}-`));
  const children: ChildProcess[] = [];
  let engine: ExtraDockerd | undefined;
  let worker: WorkerProcess | undefined;

  const stop = async () => {
    await worker?.stop('SIGKILL');
    await engine?.stop().catch(() => {});
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await removeVethNamespace({ netns, outside });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await addVethNamespace({ netns, outside, inside, root, mine });
    children.push(await forwarder(SERVICE_PORTS.map((p) => `${root}:${p}=127.0.0.1:${p}`)));
    children.push(
      await forwarder(
        SERVICE_PORTS.map((p) => `127.0.0.1:${p}=${root}:${p}`),
        netns,
      ),
    );
    engine = await startExtraDockerd({ name, netns, readyTimeoutMs: 30_000, fakeNvidiaHook: options.fakeNvidiaHook });
    worker = spawnWorker(
      name,
      // Anonymous volumes for /out: a host stopped by SIGKILL leaves no loop-mounted disk behind.
      {
        DOCKER_HOST: engine.socketHost,
        CAISSON_HOST: name,
        CAISSON_DISKS_DIR: 'off',
        CAISSON_HOST_ADDRESS: mine,
        ...workerEnv,
      },
      undefined,
      netns,
    );
    await worker.ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    netns,
    address: mine,
    engine,
    worker,
    cut: async () => void (await ip('link', 'set', outside, 'down')),
    heal: async () => {
      await ip('link', 'set', outside, 'up');
      // The address goes with the link; put it back if the kernel dropped it.
      await ip('addr', 'add', `${root}/30`, 'dev', outside).catch(() => {});
    },
    stop,
  };
}
