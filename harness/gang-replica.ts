// One gang replica's run on a test host, through the host's own container phases (runContainer,
// then removeRun), without Temporal: what `execute` does with a replica's request, minus the image
// pull's policy, inputs and artifacts. Started inside the host's network namespace (the gang's
// relays listen on the host's address there, and go on its bridges), as
// `node --import tsx gang-replica.ts '<json>'`; prints the outcome as one JSON line and exits.
import Docker from 'dockerode';
import type { RunDeps } from '../activities/container/run-deps.js';
import { runContainer } from '../activities/container/run-container.js';
import { EngineWatch } from '../activities/container/engine-watch.js';
import type { Owner } from '../activities/container/labels.js';
import { createGangHost } from '../activities/gang/gang-host.js';
import { removeRun } from '../activities/execute/remove-run.js';
import type { HostCapacity } from '../activities/placement/capacity.js';
import type { ContainerRequest } from '../activities/types.js';

export interface GangReplicaJob {
  /** The engine's unix socket path. */
  socketPath: string;
  host: string;
  /** The host's address, as its peers reach it. */
  address: string;
  owner: Owner;
  /** The registry login the image is pulled with. */
  auth: { username: string; password: string; serveraddress: string };
  req: ContainerRequest;
}

async function pull(docker: Docker, image: string, auth: GangReplicaJob['auth']): Promise<void> {
  const stream = await docker.pull(image, { authconfig: auth });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))),
  );
}

async function main(job: GangReplicaJob): Promise<void> {
  const docker = new Docker({ socketPath: job.socketPath });
  await pull(docker, job.req.spec.image, job.auth);
  const capacity = { touch: () => {}, heldBy: () => undefined, release: () => {} } as unknown as HostCapacity;
  const deps = {
    docker,
    host: job.host,
    owner: job.owner,
    capacity,
    env: {},
    artifactsUri: () => 's3://none/',
    engine: new EngineWatch(docker),
    engineAwayMs: 5_000,
    stopRequested: new Set(),
    engineLost: new Set(),
    diskBytes: () => 1 << 30,
    gang: createGangHost(docker, job.owner, job.address, (message) => process.stderr.write(`${message}\n`)),
  } satisfies RunDeps;
  const hooks = { heartbeat: () => {}, signal: new AbortController().signal, firstTry: true };
  const outcome = await runContainer(deps, job.req, hooks);
  await removeRun({ run: deps, host: job.host, capacity }, job.req);
  const left = await docker.listNetworks({ filters: { name: ['caisson-gang-'] } });
  process.stdout.write(`${JSON.stringify({ outcome, networksLeft: left.map((n) => n.Name) })}\n`);
}

main(JSON.parse(process.argv[2]!) as GangReplicaJob).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
