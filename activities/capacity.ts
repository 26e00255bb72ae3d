// How many actions this host runs at once. The truth is the engine: every container of ours counts
// until it is removed, so a restarted worker knows its load without any state of its own. A run
// placed here but without a container yet (still pulling) holds a reservation that expires if the
// run never shows up, so a vanished workflow cannot leak a slot forever.
import type Docker from 'dockerode';
import { LABEL } from './labels.js';

const RESERVATION_TTL_MS = 120_000;

export class HostCapacity {
  private readonly reservations = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];
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
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * Reserves a slot, waiting up to `waitMs` for one to free up. Waiting briefly here, woken by the
   * release, starts a queued action at once instead of after its next retry's backoff; giving up
   * after a bounded wait lets another host take the placement.
   */
  async reserve(runId: string, waitMs: number): Promise<boolean> {
    const deadline = this.now() + waitMs;
    for (;;) {
      if (await this.tryReserve(runId)) return true;
      const left = deadline - this.now();
      if (left <= 0) return false;
      // Slots also free up without a release here (a container removed by hand): look again soon.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
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
