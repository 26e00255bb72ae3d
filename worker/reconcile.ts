// At start, a worker removes the containers of runs that are over, and of runs that were placed on
// another host meanwhile. A container whose run is still alive here is left alone: the run's retried
// activity re-attaches to it. Nothing is deleted blindly.
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { LABEL } from '../activities/labels.js';
import type { HostDisks } from '../activities/host-disk.js';
import { removeContainer } from '../activities/removal.js';
import { statusQuery } from '../spec/workflow-api.js';

const QUERY_TIMEOUT_MS = 10_000;

export interface ReconcileReport {
  kept: string[];
  removed: { container: string; runId: string; why: string }[];
  disksRemoved: string[];
}

/** Runs that have a container on this host's engine, finished or not: each holds a slot. */
export async function runsOnEngine(docker: Docker, host: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL.runId, `${LABEL.host}=${host}`] } });
  return [...new Set(containers.map((c) => c.Labels[LABEL.runId]!).filter(Boolean))];
}

/** A disk without a container is left alone this long: its run may be creating the container. */
const DISK_GRACE_MS = 10 * 60_000;

export async function reconcileContainers(
  docker: Docker,
  client: Client,
  host: string,
  disks?: HostDisks,
  now: () => number = Date.now,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { kept: [], removed: [], disksRemoved: [] };
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL.runId, `${LABEL.host}=${host}`] } });
  for (const c of containers) {
    const actionId = c.Labels[LABEL.actionId]!;
    const runId = c.Labels[LABEL.runId]!;
    let why: string | undefined;
    try {
      const handle = client.workflow.getHandle(actionId, runId);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') why = `its run is ${description.status.name.toLowerCase()}`;
      else {
        // A run whose workflow cannot answer right now keeps its container: when in doubt, keep.
        const status = await Promise.race([
          handle.query(statusQuery).catch(() => undefined),
          new Promise<undefined>((resolve) => (setTimeout(resolve, QUERY_TIMEOUT_MS) as unknown as NodeJS.Timeout).unref()),
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
    const left = new Set((await docker.listContainers({ all: true, filters: { label: [`${LABEL.host}=${host}`] } })).map((c) => c.Names[0]?.replace(/^\//, '')));
    for (const disk of await disks.list()) {
      // Only this host's (container names end with the host): workers of other hosts may share the folder.
      if (!disk.name.endsWith(`-${host}`) || left.has(disk.name) || now() - disk.createdMs < DISK_GRACE_MS) continue;
      await disks.remove(disk.name);
      report.disksRemoved.push(disk.name);
    }
  }
  return report;
}
