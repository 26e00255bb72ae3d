// At start and then periodically, a worker removes the containers of runs that are over, and of
// runs that were placed on another host meanwhile. A container whose run is still alive here is left
// alone: the run's retried activity re-attaches to it. Nothing is deleted blindly. Apart from that,
// any container of this host still running past its deadline and stop grace is killed, whichever
// worker started it: a container never outlives its time limit because its worker died.
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { LABEL, ownedBy, ownerLabels, type Owner } from '../activities/container/labels.js';
import type { HostDisks } from '../activities/disks/host-disk.js';
import { removeContainer } from '../activities/container/removal.js';
import { statusQuery } from '../spec/workflow-api.js';
import type { SeenRun } from '../activities/placement/capacity.js';
import type { Held } from '../spec/placement.js';
import { removeIdleGangNetworks } from '../activities/gang/gang-network.js';

const QUERY_TIMEOUT_MS = 10_000;

export interface ReconcileReport {
  kept: string[];
  removed: { container: string; runId: string; why: string }[];
  disksRemoved: string[];
  /** Gang networks of this worker's that no container was attached to any more. */
  gangNetworksRemoved: string[];
}

/**
 * Runs that have a container on this host's engine, finished or not (`runningOnly`: still running):
 * each holds a slot.
 */
export async function runsOnEngine(docker: Docker, owner: Owner, runningOnly = false): Promise<SeenRun[]> {
  // Every container under this host name counts, whichever namespace's worker made it: they share
  // the machine's cores, memory and GPUs, so none may be given twice. (Only touching is per owner.)
  const containers = await docker.listContainers({
    all: !runningOnly,
    filters: { label: [LABEL.runId, `${LABEL.host}=${owner.host}`], ...(runningOnly ? { status: ['running'] } : {}) },
  });
  const runs = new Map<string, SeenRun>();
  for (const c of containers) {
    const runId = c.Labels[LABEL.runId];
    if (!runId) continue;
    runs.set(runId, {
      runId,
      actionId: c.Labels[LABEL.actionId],
      held: parseHeld(c.Labels[LABEL.held]) ?? runs.get(runId)?.held,
    });
  }
  return [...runs.values()];
}

/** The held label as written at create; anything else (an older container, a hand edit) counts as nothing. */
function parseHeld(text: string | undefined): Held | undefined {
  if (!text) return undefined;
  try {
    const h = JSON.parse(text) as Held;
    const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
    if (n(h.cpu) && n(h.memory) && n(h.disk) && Array.isArray(h.gpus) && h.gpus.every((g) => typeof g === 'string'))
      return h;
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * Whether a folder of the disks folder is the disk of one of this host's containers: named as they
 * are (containerName: "caisson-<run>-<attempt>-<host>"). Workers of other hosts may share the
 * folder, and anything else an operator keeps there is not ours to delete. (HostDisks.list gives
 * real folders only, each a single entry of the disks folder: the sweep never leaves it.)
 */
export function diskOfHost(name: string, host: string): boolean {
  return name.startsWith('caisson-') && name.endsWith(`-${host}`);
}

/** A disk without a container is left alone this long: its run may be creating the container. */
const DISK_GRACE_MS = 10 * 60_000;

/** Past deadline plus grace, the container's own watcher has had this long to stop it. */
const OVERDUE_MARGIN_MS = 5_000;

/** Kills running containers of this host that are past their deadline and stop grace; returns their names. */
export async function stopOverdue(docker: Docker, owner: Owner, now: () => number = Date.now): Promise<string[]> {
  const running = await docker.listContainers({
    filters: { label: [LABEL.timeoutMs, `${LABEL.host}=${owner.host}`], status: ['running'] },
  });
  const stopped: string[] = [];
  for (const c of running) {
    if (!ownedBy(c.Labels, owner)) continue;
    const timeoutMs = Number(c.Labels[LABEL.timeoutMs]);
    const graceMs = (Number(c.Labels[LABEL.stopGrace]) || 0) * 1000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) continue;
    const container = docker.getContainer(c.Id);
    const info = await container.inspect().catch(() => undefined);
    const startedMs = info ? Date.parse(info.State.StartedAt) : NaN;
    if (
      !info?.State.Running ||
      !Number.isFinite(startedMs) ||
      now() < startedMs + timeoutMs + graceMs + OVERDUE_MARGIN_MS
    )
      continue;
    // Its grace is long over: SIGKILL. Its run (if alive) reads the end as a timeout by the clock.
    await container.kill().catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
    });
    stopped.push(c.Names[0]?.replace(/^\//, '') ?? c.Id);
  }
  return stopped;
}

export async function reconcileContainers(
  docker: Docker,
  client: Client,
  owner: Owner,
  disks?: HostDisks,
  now: () => number = Date.now,
  /** Runs an activity of this worker is serving right now: neither looked up nor touched. */
  servedHere: (runId: string) => boolean = () => false,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { kept: [], removed: [], disksRemoved: [], gangNetworksRemoved: [] };
  const { host } = owner;
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [LABEL.runId, `${LABEL.host}=${host}`] },
  });
  for (const c of containers) {
    // Another namespace's (or fleet's) container: its run is not ours to look up, nor to remove.
    if (!ownedBy(c.Labels, owner)) continue;
    const actionId = c.Labels[LABEL.actionId]!;
    const runId = c.Labels[LABEL.runId]!;
    if (servedHere(runId)) {
      report.kept.push(c.Names[0] ?? c.Id);
      continue;
    }
    let why: string | undefined;
    try {
      const handle = client.workflow.getHandle(actionId, runId);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') why = `its run is ${description.status.name.toLowerCase()}`;
      else {
        // A run whose workflow cannot answer right now keeps its container: when in doubt, keep.
        const status = await Promise.race([
          handle.query(statusQuery).catch(() => undefined),
          new Promise<undefined>((resolve) =>
            (setTimeout(resolve, QUERY_TIMEOUT_MS) as unknown as NodeJS.Timeout).unref(),
          ),
        ]);
        if (status?.host && status.host !== host) why = `its run moved to host ${status.host}`;
      }
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') why = 'its run no longer exists';
      else throw err;
    }
    if (why) {
      await removeContainer(docker, disks, c);
      report.removed.push({ container: c.Names[0] ?? c.Id, runId, why });
    } else report.kept.push(c.Names[0] ?? c.Id);
  }
  // Disks whose container is gone (a crash between removing one and the other), past a grace period.
  if (disks) {
    const left = new Set(
      (await docker.listContainers({ all: true, filters: { label: [`${LABEL.host}=${host}`] } })).map((c) =>
        c.Names[0]?.replace(/^\//, ''),
      ),
    );
    for (const disk of await disks.list()) {
      if (!diskOfHost(disk.name, host) || left.has(disk.name) || now() - disk.createdMs < DISK_GRACE_MS) continue;
      // Another namespace's (or fleet's) disk under the same host name: its own workers sweep it.
      const diskOwner = await disks.owner(disk.name);
      if (diskOwner && !ownedBy(ownerLabels(diskOwner), owner)) continue;
      await disks.remove(disk.name);
      report.disksRemoved.push(disk.name);
    }
  }
  // After the containers: a gang's last one removed above leaves its network empty.
  report.gangNetworksRemoved = await removeIdleGangNetworks(docker, owner, now);
  return report;
}
