// An extra Docker engine for tests and benchmarks, beside the dev environment's: its own data root,
// exec root, pid file and unix socket, all in a temp dir that is removed when it stops, and
// optionally a TLS listener on 127.0.0.1:<free port> that requires a client certificate. Same
// network flags as the dev engine (--bridge=none --iptables=false --ip-masq=false): its containers
// get network none or host only.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { engineAt } from './engine.js';
import { processGone } from './processes.js';
import { freePort } from './free-port.js';
import { makeDockerTlsCerts, type DockerTlsCerts } from './tls-certs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ExtraDockerdOptions {
  /** Names the temp dir and the log file. */
  name?: string;
  /** Also listen on tcp://127.0.0.1:<free port> with --tlsverify and certificates made for it. */
  tls?: boolean;
  /** Where dockerd's own output goes; kept after stop (default test-results/dockerd-<name>-<time>.log). */
  logFile?: string;
  /** How long to wait for the engine to answer a ping (default 60 s). */
  readyTimeoutMs?: number;
  /** How long to wait for dockerd to exit after SIGTERM before SIGKILL (default 20 s). */
  stopTimeoutMs?: number;
  /**
   * Makes the engine's NVIDIA device driver available without a GPU: a no-op
   * `nvidia-container-runtime-hook` in dockerd's PATH, which is all the engine looks for at start.
   * Containers asking for GPUs then start, with NVIDIA_VISIBLE_DEVICES naming the ids they were
   * given, exactly as the engine would hand them to the real hook.
   */
  fakeNvidiaHook?: boolean;
  /** Runs dockerd inside this network namespace (nsenter --net): a host of its own on the network. */
  netns?: string;
}

export interface ExtraDockerd {
  /** unix://<dir>/docker.sock */
  socketHost: string;
  /** A client over the unix socket (no TLS needed): for setup, checks and clean-up. */
  engine: Docker;
  /** With `tls`: tcp://127.0.0.1:<port>, the certificates, and the env a client needs for it. */
  tls?: { host: string; port: number; certs: DockerTlsCerts; clientEnv: Record<string, string> };
  /** The temp dir holding everything; removed by stop(). */
  dir: string;
  logFile: string;
  pid: number;
  /**
   * Stops dockerd as an operator's restart does (SIGTERM: it stops the containers it runs) and starts
   * it again on the same data root and sockets; resolves when it answers a ping again.
   */
  restart(): Promise<void>;
  /**
   * Sends dockerd `signal` and waits for it to exit. SIGTERM is an operator's stop. SIGKILL is a
   * crash of the engine: dockerd and the containerd it runs are killed, the shims and the
   * containers' processes stay (the next start finds them, as after a crash on a real host).
   */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts a stopped or killed dockerd again on the same data root; resolves when it answers. */
  start(): Promise<void>;
  /**
   * Removes its containers, SIGTERM with a bounded wait, then SIGKILL (and whatever a killed dockerd
   * leaves: containerd, shims, container processes, mounts), then removes the temp dir. Idempotent.
   */
  stop(): Promise<void>;
}

/** dockerd reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself: keep the caller's out of its flags. */
function dockerdEnv(extraPath?: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DOCKER_')));
  if (extraPath) env.PATH = `${extraPath}:${env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  return env;
}

/** A folder holding a hook that reads the container state runc gives it and succeeds. */
function fakeHookDir(dir: string): string {
  const bin = join(dir, 'fake-nvidia-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'nvidia-container-runtime-hook'), '#!/bin/sh\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
  return bin;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (!alive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * What a killed dockerd leaves running: its containerd and shims (their command lines name our temp
 * dir) and its containers' processes (in a cgroup named after a container id of our data root).
 */
function processesLeftBy(dir: string): number[] {
  let ids: string[] = [];
  try {
    ids = readdirSync(join(dir, 'data', 'containers')).filter((id) => /^[0-9a-f]{64}$/.test(id));
  } catch {
    // no containers were ever created
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${dir}/`)) {
        pids.push(Number(entry));
      } else if (ids.length > 0) {
        const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
        if (ids.some((id) => cgroup.includes(`/${id}`))) pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Kills the containerd that dockerd started for `dir` and waits until it is dead, then removes its
 * pid file: orphans are not always reaped here (the machine's init does not), and a dockerd that
 * finds the pid of a zombie takes it for a live containerd and waits on it in vain.
 */
async function killContainerd(dir: string): Promise<void> {
  const pidFile = join(dir, 'exec', 'containerd', 'containerd.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return; // none was started
  }
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
  for (let i = 0; i < 100 && !processGone(pid); i++) await sleep(50);
  rmSync(pidFile, { force: true });
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Mount points under `dir` (overlay layers, netns bind mounts) left by an engine that was killed. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => !!point && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startExtraDockerd(options: ExtraDockerdOptions = {}): Promise<ExtraDockerd> {
  const name = options.name ?? 'extra';
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  // Short: the socket path must stay under the 108 bytes a unix socket address allows.
  const dir = mkdtempSync(join(tmpdir(), `caisson-dockerd-${name}-`));
  const socketHost = `unix://${dir}/docker.sock`;
  let logFile = options.logFile;
  if (!logFile) {
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    logFile = join(ROOT, 'test-results', `dockerd-${name}-${Date.now()}.log`);
  }

  let child: ChildProcess | undefined;
  const onExit = () => {
    // The test process is going away without stop(): let dockerd shut down (and stop its containerd).
    if (child && alive(child)) child.kill('SIGTERM');
  };
  const cleanUpDir = async () => {
    for (const point of await mountsUnder(dir).catch(() => [])) {
      await promisify(execFile)('umount', ['-l', point]).catch(() => {});
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 });
  };

  try {
    let tls: ExtraDockerd['tls'];
    const args = [
      '--host',
      socketHost,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
    ];
    if (options.tls) {
      const certs = await makeDockerTlsCerts(join(dir, 'tls'));
      const port = await freePort();
      const host = `tcp://127.0.0.1:${port}`;
      args.push(
        '--host',
        host,
        '--tlsverify',
        '--tlscacert',
        certs.server.ca,
        '--tlscert',
        certs.server.cert,
        '--tlskey',
        certs.server.key,
      );
      tls = {
        host,
        port,
        certs,
        clientEnv: { DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.client.dir },
      };
    }

    const engine = engineAt(socketHost);
    const launch = async (): Promise<ChildProcess> => {
      const log = openSync(logFile!, 'a');
      try {
        const env = dockerdEnv(options.fakeNvidiaHook ? fakeHookDir(dir) : undefined);
        child = options.netns
          ? spawn('nsenter', [`--net=/var/run/netns/${options.netns}`, 'dockerd', ...args], {
              stdio: ['ignore', log, log],
              env,
            })
          : spawn('dockerd', args, { stdio: ['ignore', log, log], env });
      } finally {
        closeSync(log);
      }
      const spawned = child;
      await new Promise<void>((resolve, reject) => {
        spawned.once('spawn', resolve);
        spawned.once('error', reject);
      });
      await ready(spawned);
      return spawned;
    };

    // Ready when it answers a ping on every listener, within a deadline; an early exit fails at once.
    const overTls = tls
      ? new Docker({
          host: '127.0.0.1',
          port: tls.port,
          protocol: 'https',
          ca: readFileSync(tls.certs.client.ca),
          cert: readFileSync(tls.certs.client.cert),
          key: readFileSync(tls.certs.client.key),
        })
      : undefined;
    const ping = (d: Docker) =>
      withDeadline(
        d.ping().then(
          () => true,
          () => false,
        ),
        2_000,
      ).then((ok) => ok === true);
    const ready = async (spawned: ChildProcess) => {
      const deadline = Date.now() + readyTimeoutMs;
      for (;;) {
        if (!alive(spawned)) {
          throw new Error(
            `dockerd ${name} exited (${spawned.exitCode ?? spawned.signalCode}) before it was ready; log ${logFile}:\n${tail(logFile!)}`,
          );
        }
        if ((await ping(engine)) && (!overTls || (await ping(overTls)))) return;
        if (Date.now() > deadline) {
          throw new Error(
            `dockerd ${name} did not answer a ping within ${readyTimeoutMs} ms; log ${logFile}:\n${tail(logFile!)}`,
          );
        }
        await sleep(100);
      }
    };
    let spawned = await launch();
    process.once('exit', onExit);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        try {
          if (alive(spawned)) {
            // Containers first (ours only: this engine is ours), so it shuts down cleanly and fast.
            await withDeadline(
              (async () => {
                const containers = await engine.listContainers({ all: true });
                await Promise.all(
                  containers.map((c) =>
                    engine
                      .getContainer(c.Id)
                      .remove({ force: true, v: true })
                      .catch(() => {}),
                  ),
                );
              })().catch(() => {}),
              stopTimeoutMs,
            );
            spawned.kill('SIGTERM');
            if (!(await waitExit(spawned, stopTimeoutMs))) {
              spawned.kill('SIGKILL');
              await waitExit(spawned, 5_000);
            }
          }
          // A killed dockerd leaves its containerd, shims and containers' processes behind.
          killAll(processesLeftBy(dir));
        } finally {
          process.removeListener('exit', onExit);
          await cleanUpDir();
        }
      })());

    const kill = async (signal: 'SIGKILL' | 'SIGTERM') => {
      spawned.kill(signal);
      if (!(await waitExit(spawned, stopTimeoutMs)))
        throw new Error(`dockerd ${name} did not exit within ${stopTimeoutMs} ms of ${signal}`);
      // Its containerd, left alone, loses the pipe its log goes to and may hang or die while a new
      // dockerd connects to it: a crash takes it too.
      if (signal === 'SIGKILL') await killContainerd(dir);
    };
    const start = async () => {
      if (alive(spawned)) throw new Error(`dockerd ${name} is running already`);
      spawned = await launch();
    };
    const restart = async () => {
      await kill('SIGTERM');
      await start();
    };

    return {
      socketHost,
      engine,
      tls,
      dir,
      logFile,
      get pid() {
        return spawned.pid!;
      },
      restart,
      kill,
      start,
      stop,
    };
  } catch (err) {
    // Never leave a half-started engine or its folder behind.
    if (child && alive(child)) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, stopTimeoutMs))) {
        child.kill('SIGKILL');
        await waitExit(child, 5_000);
      }
    }
    if (existsSync(dir)) killAll(processesLeftBy(dir));
    process.removeListener('exit', onExit);
    await cleanUpDir().catch(() => {});
    throw err;
  }
}
