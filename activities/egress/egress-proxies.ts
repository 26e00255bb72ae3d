// The egress proxies of this worker: one tinyproxy child per egress container, with the action's
// own list (the policy's, or the spec's narrower one) and a port of its own on the egress network's
// gateway. One proxy per action makes its list exact and every line it logs the action's: the
// worker writes them to its own log under the action id. Its configuration lives in a private
// directory; a re-attached container gets its proxy back on the port it was created with.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { uncovered } from '../../spec/egress.js';
import type { EgressNetwork } from './egress-network.js';
import { filterText, tinyproxyConfig } from './proxy-config.js';

/** Where a proxy's lines go: the worker's log, with the action named. */
export type ProxyLog = (line: string, attrs: { actionId: string }) => void;

const READY_MS = 10_000;

/**
 * The proxy runs as nobody without new privileges from its first instruction, and dies with the
 * worker (a parent-death signal, set after the switch, which would clear it): a worker killed
 * outright leaves no proxy holding the port its re-attaching try starts one on again.
 */
const AS_NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--no-new-privs', '--pdeathsig=KILL'];

interface Running {
  child: ChildProcess;
  port: number;
  dir: string;
}

export class EgressProxies {
  private readonly running = new Map<string, Promise<Running>>();

  constructor(
    readonly network: EgressNetwork,
    /** The policy's list: what an action's own list may only narrow. */
    private readonly allow: readonly string[],
    private readonly log: ProxyLog,
  ) {}

  /**
   * Container `name`'s proxy, started unless running (on `port` when given), reaching `narrowed`
   * or else the policy's whole list. A list the policy's does not cover is refused here too.
   */
  async open(
    name: string,
    actionId: string,
    narrowed: readonly string[] | undefined,
    port?: number,
  ): Promise<{ url: string; port: number }> {
    const wider = uncovered(narrowed ?? [], this.allow);
    if (wider.length) throw new Error(`egress to ${wider.join(', ')} is beyond this host's policy`);
    let running = this.running.get(name);
    if (!running) {
      running = this.start(actionId, narrowed ?? this.allow, port);
      this.running.set(name, running);
      running.catch(() => this.running.delete(name));
    }
    const started = await running;
    return { url: `http://${this.network.gateway}:${started.port}`, port: started.port };
  }

  /** Stops container `name`'s proxy (when it has one) and removes its configuration. */
  async close(name: string): Promise<void> {
    const running = this.running.get(name);
    this.running.delete(name);
    const proxy = await running?.catch(() => undefined);
    if (!proxy) return;
    if (proxy.child.exitCode === null && proxy.child.signalCode === null) {
      const exited = new Promise((resolve) => proxy.child.once('exit', resolve));
      proxy.child.kill('SIGTERM');
      await exited;
    }
    await rm(proxy.dir, { recursive: true, force: true });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.close(name)));
  }

  private async start(actionId: string, allow: readonly string[], asked?: number): Promise<Running> {
    const port = asked ?? (await freePort(this.network.gateway));
    // Readable by the proxy, which runs as nobody (and reads the filter again on SIGHUP); the
    // directory's name is not listed to anyone else.
    const parent = join(tmpdir(), 'caisson-egress');
    await mkdir(parent, { recursive: true, mode: 0o711 });
    const dir = await mkdtemp(join(parent, 'proxy-'));
    await chmod(dir, 0o711);
    const filterFile = join(dir, 'filter');
    const configFile = join(dir, 'tinyproxy.conf');
    await writeFile(filterFile, filterText(allow), { mode: 0o644 });
    const listen = { address: this.network.gateway, port, clients: this.network.subnet, filterFile };
    await writeFile(configFile, tinyproxyConfig(listen), { mode: 0o644 });
    const child = spawn('setpriv', [...AS_NOBODY, 'tinyproxy', '-d', '-c', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on('line', (line) => this.log(line, { actionId }));
    try {
      await listening(child, this.network.gateway, port);
    } catch (err) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { child, port, dir };
  }
}

/** A port free on `address` now (the proxy binds it right after). */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Settles once the proxy accepts connections; rejects when it exits or stays silent too long. */
async function listening(child: ChildProcess, address: string, port: number): Promise<void> {
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the egress proxy exited with ${code} before listening`))),
  );
  exited.catch(() => {});
  const until = Date.now() + READY_MS;
  for (;;) {
    const accepted = await Promise.race([exited, tryConnect(address, port)]);
    if (accepted) return;
    if (Date.now() > until)
      throw new Error(`the egress proxy did not listen on ${address}:${port} within ${READY_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const tryConnect = (address: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
