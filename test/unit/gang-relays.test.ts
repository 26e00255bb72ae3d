// The gang's TCP relays (activities/gang/relays.ts) on loopback: bytes both ways with half-closes
// passed on, at most so many connections, idle ones closed, nothing left listening once closed.
// Across hosts and gang bridges: test/integration/gang-network.test.ts.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { GangRelays } from '../../activities/gang/relays.js';

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A server that answers "got <what it read>" once its peer has sent everything. */
async function answering(): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let read = '';
    socket.on('data', (d: Buffer) => (read += d.toString()));
    socket.on('end', () => socket.end(`got ${read}`));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const freePort = async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => socket.end(text));
    let read = '';
    socket.on('data', (d: Buffer) => (read += d.toString()));
    socket.on('close', () => resolve(read));
    // A connection the relay closes at once may be reset under the write: what was read counts.
    socket.on('error', (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED' && reject(err));
  });
}

const closed = (socket: Socket) => new Promise((resolve) => socket.once('close', resolve));

describe('gang relays', () => {
  it('carry bytes both ways, refuse connections past the bound, close idle ones, and stop listening', async () => {
    const target = await answering();
    const port = await freePort();
    const relays = new GangRelays(() => {}, { maxConnections: 1, idleMs: 300 });
    await relays.open('run-1', {
      inbound: {
        listen: { host: '127.0.0.1', port },
        target: { host: '127.0.0.1', port: target },
        from: ['localhost'],
      },
      remotes: [],
    });
    // A second open of the same run is the first one.
    await relays.open('run-1', { remotes: [] });
    const held = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => held.once('connect', resolve));
    const heldClosed = closed(held);
    // One at a time: the next is closed without a byte.
    expect(await exchange(port, 'too many')).toBe('');
    // The held one sends nothing: closed once idle (the relay's side first), which frees the place.
    await heldClosed;
    expect(await exchange(port, 'rank 1')).toBe('got rank 1');

    await relays.close('run-1');
    await expect(exchange(port, 'late')).rejects.toThrow(/ECONNREFUSED/);
  });

  it("let in only the gang's peer hosts, and replace a stale relay that goes elsewhere", async () => {
    const target = await answering();
    const port = await freePort();
    const relays = new GangRelays(() => {});
    // Peers are on 127.0.0.2 only: a connection from 127.0.0.1 is closed without a byte.
    await relays.open('run-1', {
      inbound: {
        listen: { host: '127.0.0.1', port },
        target: { host: '127.0.0.1', port: target },
        from: ['127.0.0.2'],
      },
      remotes: [],
    });
    expect(await exchange(port, 'rank 1')).toBe('');
    // run-1 ended unseen (its container removed under the worker); run-2 gets the same port and
    // its own target: the old relay goes, the new one carries run-2's traffic.
    const other = await answering();
    await relays.open('run-2', {
      inbound: { listen: { host: '127.0.0.1', port }, target: { host: '127.0.0.1', port: other }, from: ['127.0.0.1'] },
      remotes: [],
    });
    expect(await exchange(port, 'rank 2')).toBe('got rank 2');
    await relays.closeAll();
  });
});
