// A gang's network across two hosts in network namespaces (harness/netns-host.ts), each with its
// own engine: two replicas of one gang run through the host's container phases (runContainer and
// removeRun, in harness/gang-replica.ts inside each host's namespace, without Temporal: the
// workflow's end-to-end tests drive the same through `execute`). Rank 1 on host B reaches rank 0 on
// host A at MASTER_ADDR:MASTER_PORT, through its relay on B's gang bridge and A's on A's address;
// nothing else is reachable from the gang network, and nothing of it is left after removal.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { GangReplicaJob } from '../../harness/gang-replica.js';
import { startNetnsHost, type NetnsHost } from '../../harness/netns-host.js';
import type { RunOutcome } from '../../spec/result.js';
import { parseActionSpec } from '../../spec/action.js';
import type { GangPeer } from '../../spec/gang.js';
import { busybox } from '../support/actions.js';
import { env } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hosts: NetnsHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
}, 120_000);

/** Runs one replica on `host` (inside its namespace) to its end and removal. */
function runReplica(host: NetnsHost, job: Omit<GangReplicaJob, 'socketPath' | 'host' | 'address' | 'owner' | 'auth'>) {
  const full: GangReplicaJob = {
    ...job,
    socketPath: host.engine.socketHost.replace(/^unix:\/\//, ''),
    host: host.name,
    address: host.address,
    // Not the host's worker's namespace: its reconcile leaves these containers alone.
    owner: { host: host.name, namespace: 'gang-network-test', queue: `gang-network-test@${host.name}` },
    auth: {
      username: env('TEST_REGISTRY_USERNAME'),
      password: env('TEST_REGISTRY_PASSWORD'),
      serveraddress: env('TEST_REGISTRY'),
    },
  };
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${host.netns}`,
      process.execPath,
      '--import',
      'tsx',
      'harness/gang-replica.ts',
      JSON.stringify(full),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ outcome: RunOutcome; networksLeft: string[] }>((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as never)
        : reject(new Error(`replica on ${host.name} exited ${code}: ${err}`)),
    ),
  );
}

describe('a gang network across hosts', () => {
  it('joins replicas on two hosts through their relays, and reaches nothing else', async () => {
    hosts.push(
      ...(await Promise.all([
        startNetnsHost(11, `gang-a-${process.pid}`, { CAISSON_TASK_QUEUE: `gang-net-${randomUUID()}` }),
        startNetnsHost(12, `gang-b-${process.pid}`, { CAISSON_TASK_QUEUE: `gang-net-${randomUUID()}` }),
      ])),
    );
    const [a, b] = hosts as [NetnsHost, NetnsHost];
    const peers: GangPeer[] = [
      { rank: 0, host: a.name, address: a.address, port: 30100 },
      { rank: 1, host: b.name, address: b.address, port: 30101 },
    ];
    const gangId = `gang-${randomUUID()}`;
    const gangRunId = randomUUID();
    const request = (index: number, script: string) => ({
      req: {
        actionId: `${gangId}-replica-${index}`,
        runId: randomUUID(),
        attempt: 1,
        stopGraceSeconds: 1,
        spec: parseActionSpec(busybox(script, { timeout: '30s', network: 'gang', replicas: 2, gang: true })),
        replica: { index, count: 2, gangId, gangRunId, attempt: 1, peers, hostQueue: 'q' },
      },
    });
    const [zero, one] = [
      request(
        0,
        'nc -l -p $PORT -e sh -c \'read r; echo "$r" > /tmp/got; echo ok\'; echo "rank 0 got $(cat /tmp/got)"',
      ),
      request(
        1,
        [
          'echo "env $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $NODE_RANK $NNODES $MASTER_PORT $PORT"',
          'echo "peers $(tr "\\n" ";" < $CAISSON_PEERS_FILE)"',
          'echo "master $MASTER_ADDR"',
          // Neither the host's own address (where rank 0's relay listens) nor the root side of its link.
          `timeout 5 nc -w 1 ${a.address} $MASTER_PORT </dev/null; echo "host address: $?"`,
          `timeout 5 nc -w 1 198.18.11.1 7233 </dev/null; echo "outside: $?"`,
          // Rank 0 may not listen yet: its answer says it heard.
          'until [ "$(echo $RANK | nc -w 2 $MASTER_ADDR $MASTER_PORT)" = ok ]; do sleep 0.2; done; echo "rank 1 sent"',
        ].join('\n'),
      ),
    ];

    const [ran0, ran1] = await Promise.all([runReplica(a, zero), runReplica(b, one)]);

    expect(ran0.outcome).toMatchObject({ exitCode: 0, reason: 'exit' });
    expect(ran0.outcome.logTail).toContain('rank 0 got 1');
    expect(ran1.outcome).toMatchObject({ exitCode: 0, reason: 'exit' });
    const said = ran1.outcome.logTail;
    expect(said).toContain('env 1 2 0 1 1 2 30100 30101');
    const master = said.find((l) => l.startsWith('master '))!.slice('master '.length);
    expect(master).toMatch(/^198\.19\.\d+\.\d+$/);
    const [, base, last] = /^(198\.19\.\d+\.)(\d+)$/.exec(master)!;
    expect(said).toContain(`peers 0 ${master} 30100;1 ${base}${Number(last) + 1} 30101;`);
    expect(said).toContain('host address: 1');
    expect(said).toContain('outside: 1');
    expect(said).toContain('rank 1 sent');
    // Removal took each host's gang network with its last container.
    expect(ran0.networksLeft).toEqual([]);
    expect(ran1.networksLeft).toEqual([]);
  }, 60_000);
});
