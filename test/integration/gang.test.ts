// Gangs on the real stack: two hosts, each in a network namespace of its own with its own engine
// (with two fake GPUs) and worker, reaching each other over veth links in 198.18.0.0/15. Replicas
// across the hosts talk over TCP through the ports their hosts publish; a replica killed mid-run
// makes the gang run again whole; two gangs that each need every GPU of the fleet both end, one
// after the other; and a gang larger than the fleet could ever hold fails at once.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { LABEL } from '../../activities/container/labels.js';
import { startNetnsHost, type NetnsHost } from '../../harness/netns-host.js';
import { busybox, connectClient, keepHistory } from '../support/actions.js';
import { objectText, s3 } from '../support/env.js';

const hosts: NetnsHost[] = [];
let client: ActionsClient;
const dir = mkdtempSync(join(tmpdir(), 'caisson-gang-'));

beforeAll(async () => {
  const taskQueue = `gang-${randomUUID()}`;
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify({ gang: { images: [`${process.env.TEST_REGISTRY}/caisson/*`] } }));
  const env = {
    CAISSON_TASK_QUEUE: taskQueue,
    CAISSON_CAPACITY: '2',
    CAISSON_GPUS: 'fake0,fake1',
    CAISSON_POLICY_FILE: policyFile,
    // A replica killed by hand is known as such after this long (not the engine shutting down).
    CAISSON_ENGINE_SHUTDOWN_SECONDS: '5',
  };
  hosts.push(
    ...(await Promise.all([
      startNetnsHost(11, `gang-a-${process.pid}`, env, { fakeNvidiaHook: true }),
      startNetnsHost(12, `gang-b-${process.pid}`, env, { fakeNvidiaHook: true }),
    ])),
  );
  client = await connectClient(taskQueue);
}, 120_000);

afterAll(async () => {
  await client?.close();
  for (const h of hosts.splice(0)) await h.stop();
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/**
 * Each replica but the last waits for the running sum from the rank above it (on its own port, and
 * answers "ok"), adds its rank and passes it to the rank below (from the peers file; again until
 * that one answers, since it may not listen yet); rank 0 writes the sum to /out.
 */
const RANK_SUM = `
set -e
v=0
if [ "$RANK" -lt $((WORLD_SIZE - 1)) ]; then
  printf 'read v; echo "$v" > /tmp/got; echo ok\\n' > /tmp/answer.sh
  nc -l -p "$PORT" -e sh /tmp/answer.sh
  v=$(cat /tmp/got)
fi
sum=$((v + RANK))
if [ "$RANK" -eq 0 ]; then echo "$sum" > /out/sum.txt; exit 0; fi
set -- $(sed -n "$RANK"p "$CAISSON_PEERS_FILE")
until [ "$(echo "$sum" | nc -w 3 "$2" "$3")" = ok ]; do sleep 0.2; done
`;

/** The containers of `actionId` on every host's engine. */
async function containersOf(actionId: string) {
  const found = await Promise.all(
    hosts.map(async (h) =>
      (await h.engine.engine.listContainers({ all: true, filters: { label: [`${LABEL.actionId}=${actionId}`] } })).map(
        (c) => ({ host: h, id: c.Id, state: c.State }),
      ),
    ),
  );
  return found.flat();
}

describe('gangs across hosts in network namespaces', () => {
  it('places 3 replicas across 2 hosts, each passes its rank on over TCP, and rank 0 writes the sum', async () => {
    const handle = await client.start(busybox(RANK_SUM, { replicas: 3, gang: true, network: 'gang' }));
    const result = await handle.result();
    expect(result, result.message).toMatchObject({ status: 'DONE', attempts: 1 });
    keepHistory('gang-done', handle);
    expect(new Set(result.replicas!.map((r) => r.host)).size).toBe(2);
    const sum = result.artifacts.find((a) => a.path === 'replica-0/sum.txt');
    expect((await objectText(s3(), sum!.uri)).trim()).toBe(String(0 + 1 + 2));
  });

  it('runs the whole gang again when one replica is killed mid-run, and ends DONE', async () => {
    // The first attempt's replicas run until stopped; the second's (ACTION_ID ends "-try-2") end at
    // once. A SIGKILL nobody asked for may be the engine shutting down for CAISSON_ENGINE_SHUTDOWN_SECONDS
    // (engine-shutdown.ts): only then does the gang learn of it, so the others must outlive that.
    const script = 'case "$ACTION_ID" in *-try-2) exit 0 ;; esac; sleep 120';
    const handle = await client.start(
      busybox(script, { replicas: 2, gang: true, timeout: '3m', retry: { attempts: 2, onExitCodes: [137] } }),
    );
    const victim = `${handle.actionId}-replica-1`;
    const running = await vi.waitFor(
      async () => {
        const [c] = await containersOf(victim);
        expect(c?.state).toBe('running');
        return c!;
      },
      { timeout: 30_000, interval: 200 },
    );
    await running.host.engine.engine.getContainer(running.id).kill();
    const result = await handle.result();
    expect(result, result.message).toMatchObject({ status: 'DONE', attempts: 2 });
    keepHistory('gang-retried', handle);
    expect(result.replicas!.map((r) => r.actionId)).toEqual([0, 1].map((i) => `${handle.actionId}-replica-${i}-try-2`));
    const first = await client.attach(victim).result();
    expect(first).toMatchObject({ status: 'FAILED', exitCode: 137 });
    expect(await client.attach(`${handle.actionId}-replica-0`).result()).toMatchObject({ status: 'CANCELED' });
  });

  // Started at the same instant, the two gangs can split the fleet (each holding one host) for
  // several rounds before their random waits part them: 7-22 s in most runs, 65 s in one. The test
  // bounds it well above that: what it proves is that they never deadlock.
  it('runs two gangs that each need every GPU of the fleet one after the other, never deadlocked', async () => {
    const spec = busybox('sleep 2', { replicas: 2, gang: true, resources: { gpus: 2 } });
    const [a, b] = await Promise.all([client.start(spec), client.start(spec)]);
    const [ra, rb] = await Promise.all([a.result(), b.result()]);
    expect(ra, ra.message).toMatchObject({ status: 'DONE' });
    expect(rb, rb.message).toMatchObject({ status: 'DONE' });
    // Each gang held both hosts' GPUs while it ran: their replicas never ran at the same time.
    const spans = async (r: typeof ra) =>
      Promise.all(r.replicas!.map(async (x) => await client.attach(x.actionId).result()));
    const [sa, sb] = await Promise.all([spans(ra), spans(rb)]);
    const window = (rs: typeof sa) => ({
      from: Math.min(...rs.map((r) => Date.parse(r.startedAt))),
      to: Math.max(...rs.map((r) => Date.parse(r.finishedAt))),
    });
    const [wa, wb] = [window(sa), window(sb)];
    expect(wa.to <= wb.from || wb.to <= wa.from, JSON.stringify({ wa, wb })).toBe(true);
    for (const r of [...sa, ...sb]) expect(r.gpus).toHaveLength(2);
  }, 300_000);

  it('fails at once with no-host-fits when the gang is larger than the fleet could ever hold', async () => {
    const handle = await client.start(busybox('true', { replicas: 5, gang: true }));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host-fits' });
    expect(result.message).toMatch(/at most 4/);
    expect(result.replicas).toBeUndefined();
  });
});
