// How many actions this host runs at once, kept in the worker's memory. The engine is asked once,
// when the worker starts (containers labelled with this host count), and reconcile corrects the
// count when it removes leftovers; after that no placement ever lists containers.
//
// The shared queue's placement worker polls only while this host has a free slot: its activity
// slots come from `placementSlots()`, which hands out a permit only when runs + permits stay within
// the capacity. A full host therefore does not poll, and the backlog waits in Temporal's queue
// instead of in sleeping activities. A permit turns into a run when `place` claims it; a run holds
// its slot until its container is removed.
import type { CustomSlotSupplier, SlotPermit } from '@temporalio/worker';

/** A run placed here whose container has not shown up within this time is forgotten. */
const CLAIM_TTL_MS = 120_000;

interface Permit extends SlotPermit {
  released: boolean;
}

export class HostCapacity {
  /** Runs holding a slot, with when they were last seen alive. */
  private readonly runs = new Map<string, number>();
  private permits = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** When an activity of this worker last placed or touched each run. */
  private readonly served = new Map<string, number>();

  /** Runs released lately, with when: a reconcile that listed their containers just before must not claim them again. */
  private readonly released = new Map<string, number>();

  /** Runs whose containers the engine holds right now (at start, and from reconcile). */
  seed(runIds: Iterable<string>): void {
    const now = this.now();
    for (const [runId, at] of this.released) if (now - at > CLAIM_TTL_MS) this.released.delete(runId);
    for (const runId of runIds) if (!this.released.has(runId)) this.runs.set(runId, now);
  }

  /** Whether an activity of this worker placed or touched the run within `ms` (seeding does not count). */
  servedWithin(runId: string, ms: number): boolean {
    const served = this.served.get(runId);
    return served !== undefined && this.now() - served <= ms;
  }

  /** A placement reached this host: the run holds a slot until `release`. */
  claim(runId: string): void {
    this.runs.set(runId, this.now());
    this.served.set(runId, this.now());
  }

  /** Keeps a claim alive while its run pulls, runs or collects. */
  touch(runId: string): void {
    if (!this.runs.has(runId)) return;
    this.runs.set(runId, this.now());
    this.served.set(runId, this.now());
  }

  release(runId: string): void {
    this.released.set(runId, this.now());
    this.served.delete(runId);
    if (this.runs.delete(runId)) this.wake();
  }

  inUse(): number {
    this.expire();
    return this.runs.size;
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /**
   * Slots for the placement worker's activity tasks: one at a time, and only while this host has a
   * free slot. One at a time spreads the actions: a host that just took one polls again behind the
   * other hosts' waiting polls, which the server serves first.
   */
  placementSlots(): CustomSlotSupplier<never> {
    return {
      type: 'custom',
      reserveSlot: (_ctx, abort) => this.reserve(abort),
      tryReserveSlot: () => (this.canIssue() ? this.issue() : null),
      markSlotUsed: () => {},
      releaseSlot: ({ permit }) => {
        const p = permit as Permit;
        if (p.released) return;
        p.released = true;
        this.permits -= 1;
        this.wake();
      },
    };
  }

  private canIssue(): boolean {
    this.expire();
    return this.permits === 0 && this.runs.size < this.capacity;
  }

  private issue(): Permit {
    this.permits += 1;
    return { released: false };
  }

  private async reserve(abort: AbortSignal): Promise<SlotPermit> {
    while (!this.canIssue()) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(Object.assign(new Error('slot reservation aborted'), { name: 'AbortError' }));
        if (abort.aborted) return onAbort();
        abort.addEventListener('abort', onAbort, { once: true });
        // Claims expire without an event: look again once they could have.
        const timer = setTimeout(resolve, CLAIM_TTL_MS);
        this.waiting.push(() => {
          clearTimeout(timer);
          abort.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    return this.issue();
  }

  private wake(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }

  private expire(): void {
    const now = this.now();
    for (const [runId, seen] of this.runs) {
      if (now - seen <= CLAIM_TTL_MS) continue;
      this.runs.delete(runId);
      this.served.delete(runId);
    }
  }
}
