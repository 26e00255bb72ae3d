// How many actions this host runs at once. The truth is the engine: every container of ours counts
// until it is removed, so a restarted worker knows its load without any state of its own. A run
// placed here but without a container yet (still pulling) holds a reservation that expires if the
// run never shows up, so a vanished workflow cannot leak a slot forever.
import type Docker from 'dockerode';
import { LABEL } from './labels.js';

const RESERVATION_TTL_MS = 120_000;

export class HostCapacity {
  private readonly reservations = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly docker: Docker,
    readonly capacity: number,
    private readonly host: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves a slot for the run; false when the host is full. Serialised so two calls never race. */
  tryReserve(runId: string): Promise<boolean> {
    const attempt = this.queue.then(async () => {
      const inUse = await this.runsInUse();
      if (inUse.has(runId)) return true;
      if (inUse.size >= this.capacity) return false;
      this.reservations.set(runId, this.now());
      return true;
    });
    this.queue = attempt.catch(() => undefined);
    return attempt;
  }

  /** Keeps a reservation alive while its run pulls or starts. */
  touch(runId: string): void {
    if (this.reservations.has(runId)) this.reservations.set(runId, this.now());
  }

  release(runId: string): void {
    this.reservations.delete(runId);
  }

  async runsInUse(): Promise<Set<string>> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [LABEL.runId, `${LABEL.host}=${this.host}`] } });
    const runs = new Set(containers.map((c) => c.Labels[LABEL.runId]!).filter(Boolean));
    for (const [runId, at] of this.reservations) {
      if (runs.has(runId)) continue;
      if (this.now() - at > RESERVATION_TTL_MS) this.reservations.delete(runId);
      else runs.add(runId);
    }
    return runs;
  }
}
