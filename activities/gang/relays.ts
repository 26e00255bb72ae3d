// The TCP relays that join a gang across hosts, run by the worker itself: one on the host's address
// and the replica's port, to the replica's container on the gang network (its way in from peers on
// other hosts); and one per remote peer on the gang's bridge, at the address that peer has in this
// host's view (base + 2 + rank, added to the bridge for it), to that peer's host address and port.
// Each is bounded: a number of connections at once, sockets idle too long closed, and every server
// and socket closed when the last run using it is done or the worker stops.
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RelayEnd {
  host: string;
  port: number;
}

export interface RelayLimits {
  /** Connections one relay carries at once; more are closed at once. */
  maxConnections: number;
  /** A connection with no byte either way for this long is closed. */
  idleMs: number;
}

/** A relay and its bridge address, gone. */
async function closeHeld(held: Held): Promise<void> {
  const relay = await held.relay.catch(() => undefined);
  await relay?.close();
  if (held.onBridge) await removeAddress(held.onBridge).catch(() => {});
}

/** The IPv4 addresses of peer hosts named by address or name (CAISSON_HOST_ADDRESS may be either). */
async function addressesOf(hosts: string[]): Promise<Set<string>> {
  const all = await Promise.all(
    hosts.map(async (h) => (isIP(h) ? [h] : (await lookup(h, { all: true })).map((a) => a.address))),
  );
  return new Set(all.flat());
}

const DEFAULT_RELAY_LIMITS: RelayLimits = { maxConnections: 256, idleMs: 30 * 60_000 };

/** What one replica's run needs relayed. */
export interface RelayPlan {
  /** Peers on other hosts reach the replica here (the host's address, its port). */
  inbound?: { listen: RelayEnd; target: RelayEnd; from: string[] };
  /** Each remote peer at its address on the gang's bridge (added there for it). */
  remotes: { bridge: string; listen: RelayEnd; target: RelayEnd }[];
}

export type RelayLog = (message: string, attrs: Record<string, string>) => void;

/** One listening relay and the connections it carries. */
class Relay {
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  private constructor(private readonly server: Server) {}

  static listen(
    from: RelayEnd,
    to: RelayEnd,
    limits: RelayLimits,
    log: RelayLog,
    allowed?: Set<string>,
  ): Promise<Relay> {
    const server = createServer({ allowHalfOpen: true });
    const relay = new Relay(server);
    server.on('connection', (client) => {
      const source = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
      if (allowed && !allowed.has(source)) {
        log(`gang relay on ${from.host}:${from.port}: refused a connection from ${source}, not a peer's host`, {});
        client.destroy();
        return;
      }
      relay.carry(client, to, limits, log);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(from.port, from.host, () => {
        server.removeListener('error', reject);
        server.on('error', (err) => log(`gang relay on ${from.host}:${from.port}: ${err.message}`, {}));
        resolve(relay);
      });
    });
  }

  private carry(client: Socket, to: RelayEnd, limits: RelayLimits, log: RelayLog): void {
    if (this.connections >= limits.maxConnections) {
      client.destroy();
      return;
    }
    this.connections++;
    client.once('close', () => this.connections--);
    const upstream = connect({ host: to.host, port: to.port, allowHalfOpen: true });
    const pair = [client, upstream];
    const end = (err?: Error) => {
      if (err) log(`gang relay to ${to.host}:${to.port}: ${err.message}`, {});
      for (const s of pair) s.destroy();
    };
    for (const s of pair) {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
      s.once('error', end);
      s.setTimeout(limits.idleMs, () => end());
    }
    // Both ways, half-closes passed on: a peer that sends and then shuts its side still gets the answer.
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface Held {
  users: Set<string>;
  relay: Promise<Relay>;
  /** Where it relays to: a relay found on the same address with another target is a stale one. */
  target: RelayEnd;
  /** The address added to a gang bridge for it, removed with it. */
  onBridge?: { bridge: string; address: string };
}

/** The relays of this worker's replicas, by the address and port each listens on. */
export class GangRelays {
  private readonly relays = new Map<string, Held>();
  private readonly runs = new Map<string, Promise<void>>();

  constructor(
    private readonly log: RelayLog,
    private readonly limits: RelayLimits = DEFAULT_RELAY_LIMITS,
  ) {}

  /** Starts what run `runId` needs (once: a later try of the run finds them running). */
  open(runId: string, plan: RelayPlan): Promise<void> {
    let opening = this.runs.get(runId);
    if (!opening) {
      opening = this.start(runId, plan);
      this.runs.set(runId, opening);
      opening.catch(() => this.runs.delete(runId));
    }
    return opening;
  }

  /** Run `runId` is done: its relays stop unless another run of the gang on this host uses them. */
  async close(runId: string): Promise<void> {
    const opening = this.runs.get(runId);
    this.runs.delete(runId);
    await opening?.catch(() => {});
    await this.drop(runId);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((runId) => this.close(runId)));
  }

  private async start(runId: string, plan: RelayPlan): Promise<void> {
    try {
      if (plan.inbound) {
        const allowed = await addressesOf(plan.inbound.from);
        await this.hold(runId, plan.inbound.listen, plan.inbound.target, undefined, allowed);
      }
      for (const remote of plan.remotes) await this.hold(runId, remote.listen, remote.target, remote.bridge);
    } catch (err) {
      await this.drop(runId);
      throw err;
    }
  }

  private async hold(
    runId: string,
    listen: RelayEnd,
    target: RelayEnd,
    bridge?: string,
    allowed?: Set<string>,
  ): Promise<void> {
    const key = `${listen.host}:${listen.port}`;
    let held = this.relays.get(key);
    if (held && (held.target.host !== target.host || held.target.port !== target.port)) {
      // Left by a run whose end this worker did not see (its container removed under it): its
      // address and port are another run's now, and traffic must not go where the old one went.
      this.relays.delete(key);
      await closeHeld(held);
      held = undefined;
    }
    if (!held) {
      const onBridge = bridge ? { bridge, address: listen.host } : undefined;
      const relay = (async () => {
        if (onBridge) await addAddress(onBridge);
        return Relay.listen(listen, target, this.limits, this.log, allowed).catch(async (err: Error) => {
          if (onBridge) await removeAddress(onBridge);
          throw new Error(`the gang relay cannot listen on ${key}: ${err.message}`);
        });
      })();
      held = { users: new Set(), relay, onBridge, target };
      this.relays.set(key, held);
      relay.catch(() => {
        if (this.relays.get(key) === held) this.relays.delete(key);
      });
    }
    held.users.add(runId);
    await held.relay;
  }

  private async drop(runId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, held] of this.relays) {
      if (!held.users.delete(runId) || held.users.size) continue;
      this.relays.delete(key);
      closing.push(
        held.relay.then(
          async (relay) => {
            await relay.close();
            if (held.onBridge) await removeAddress(held.onBridge);
          },
          () => {},
        ),
      );
    }
    await Promise.all(closing);
  }
}

/** The worker is root: it puts the peer's address on the gang's bridge (it goes with the bridge). */
async function addAddress(at: { bridge: string; address: string }): Promise<void> {
  await run('ip', ['addr', 'add', `${at.address}/32`, 'dev', at.bridge], { timeout: 10_000 }).catch(
    (err: { stderr?: string; message: string }) => {
      if (!/File exists/.test(err.stderr ?? ''))
        throw new Error(`ip addr add ${at.address}: ${err.stderr || err.message}`);
    },
  );
}

/** Taken off again; a bridge removed with its network took it already. */
const removeAddress = (at: { bridge: string; address: string }): Promise<void> =>
  run('ip', ['addr', 'del', `${at.address}/32`, 'dev', at.bridge], { timeout: 10_000 }).then(
    () => {},
    () => {},
  );
