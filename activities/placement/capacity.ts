// How many actions this host runs at once and what they hold (cpu, memory, disk budget, GPU ids),
// kept in the worker's memory. The engine is asked once, when the worker starts (containers
// labelled with this host count, with what their labels say they hold), and reconcile corrects the
// count when it removes leftovers; after that no placement ever lists containers.
//
// The shared queue's placement worker polls only while this host has a free slot: its activity
// slots come from `placementSlots()`, which hands out a permit only when runs + permits stay within
// the capacity. A full host therefore does not poll, and the backlog waits in Temporal's queue
// instead of in sleeping activities. A permit turns into a run when `place` claims it; a run holds
// its slot until its container is removed.
//
// A gang's replica is held under its reservation's key (spec/gang.ts gangReservation) rather than a
// run id, with a port of this host's gang range that no other key here holds; when the replica's own
// run comes for it, `transfer` makes everything the reservation held that run's.
import type { CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import { fitNow, neverFits, sumHeld, type Held, type HostTotals, type Needs } from '../../spec/placement.js';

/** A host that accounts slots only (no resource totals given): any action fits. */
const UNBOUNDED: HostTotals = { cpu: Infinity, memory: Infinity, disk: Infinity, gpus: [], labels: {} };
const NOTHING: Held = { cpu: 0, memory: 0, disk: 0, gpus: [] };

/** A run the engine shows on this host, with what its container's labels say it holds. */
export interface SeenRun {
  runId: string;
  actionId?: string;
  held?: Held;
}

/** The ports gang replicas are published on, when the worker names none (CAISSON_GANG_PORTS). */
const DEFAULT_GANG_PORTS: readonly [number, number] = [30000, 30999];

/** How a place holds a port: any free one of the gang range (a reservation), or exactly this one. */
export type PortWanted = 'any' | number;

/** Placing an action here: what it holds now, why it must wait, or why it can never run here. */
export type PlaceVerdict = { held: Held } | { short: string } | { never: string };

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

  /** What each run holds; runs seeded without labels hold nothing countable. */
  private readonly held = new Map<string, Held>();
  /** The action of each run, for the fleet's view of what runs where. */
  private readonly actionOf = new Map<string, string>();
  /** The gang port each key holds (a reservation, or the replica's run it went to). */
  private readonly ports = new Map<string, number>();
  /** Where the next port search starts: a port just given back is not handed out again at once. */
  private nextPort: number;
  /** Set by a drain (the operator's, or a worker stopping): no new placements, running ones finish. */
  private drainedBy: string | undefined;
  /** Set while the container engine does not answer: nothing could be run here meanwhile. */
  private engineAwayFor: string | undefined;

  /** Told when a run is placed here or leaves: the fleet's registry is updated at once. */
  onChange: () => void = () => {};

  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
    readonly totals: HostTotals = UNBOUNDED,
    readonly gangPorts: readonly [number, number] = DEFAULT_GANG_PORTS,
  ) {
    this.nextPort = gangPorts[0];
  }

  /** When an activity of this worker last placed or touched each run. */
  private readonly served = new Map<string, number>();

  /** Runs released lately, with when: a reconcile that listed their containers just before must not claim them again. */
  private readonly released = new Map<string, number>();

  /**
   * Runs whose containers the engine holds right now (at start, and from reconcile). With
   * `complete` (the list is every one running under this host name), a run counted only because
   * it was seen before, and no longer running, is forgotten at once: its container ended (maybe
   * under another namespace's worker), and a drain must not wait for its claim to expire.
   */
  seed(runs: Iterable<string | SeenRun>, complete = false): void {
    const now = this.now();
    for (const [runId, at] of this.released) if (now - at > CLAIM_TTL_MS) this.released.delete(runId);
    const listed = [...runs];
    if (complete) {
      const seen = new Set(listed.map((run) => (typeof run === 'string' ? run : run.runId)));
      for (const runId of [...this.runs.keys()]) {
        if (!seen.has(runId) && !this.served.has(runId)) this.forget(runId);
      }
    }
    for (const run of listed) {
      const { runId, held, actionId } =
        typeof run === 'string' ? { runId: run, held: undefined, actionId: undefined } : run;
      if (this.released.has(runId)) continue;
      this.runs.set(runId, now);
      if (actionId) this.actionOf.set(runId, actionId);
      if (held && !this.held.has(runId)) this.held.set(runId, held);
    }
  }

  /**
   * Places the run (or a gang's reservation: `key` is then its name) here when its needs fit next
   * to what runs already, claiming its slot and what it holds, GPU ids chosen here, and with `port`
   * a port of the gang range; otherwise says what is short, or why it never could.
   */
  place(key: string, needs: Needs, actionId?: string, port?: PortWanted): PlaceVerdict {
    const never = neverFits(needs, this.totals);
    if (never) return { never };
    if (this.drainedBy) return { short: `host is drained (${this.drainedBy})` };
    if (this.engineAwayFor) return { short: this.engineAwayFor };
    const already = this.held.get(key);
    if (already && this.runs.has(key)) return { held: already }; // a retried place of a run placed here
    this.expire();
    const fit = fitNow(needs, this.totals, this.inUseHeld());
    if (!('held' in fit)) return fit;
    const gangPort = port === undefined ? undefined : this.freePort(port);
    if (gangPort === null) return { short: this.portShort(port!) };
    this.claim(key);
    this.held.set(key, fit.held);
    if (gangPort !== undefined) this.ports.set(key, gangPort);
    if (actionId) this.actionOf.set(key, actionId);
    this.onChange();
    return fit;
  }

  /** Whether `port` is in this host's gang range and no key here holds it. */
  portFree(port: number): boolean {
    this.expire();
    return this.freePort(port) !== null;
  }

  /** The gang port `key` holds here, if any. */
  portOf(key: string): number | undefined {
    return this.runs.has(key) ? this.ports.get(key) : undefined;
  }

  /**
   * A replica's run takes over its reservation: the slot, what it held, its GPU ids and its port
   * become `toRunId`'s (with `actionId`, the replica's own action). False when `fromKey` holds nothing here.
   */
  transfer(fromKey: string, toRunId: string, actionId?: string): boolean {
    this.expire();
    if (!this.runs.has(fromKey) || this.runs.has(toRunId)) return false;
    const held = this.held.get(fromKey);
    const port = this.ports.get(fromKey);
    const action = actionId ?? this.actionOf.get(fromKey);
    this.drop(fromKey);
    this.claim(toRunId);
    if (held) this.held.set(toRunId, held);
    if (port !== undefined) this.ports.set(toRunId, port);
    if (action) this.actionOf.set(toRunId, action);
    this.onChange();
    return true;
  }

  /** The port a place holds: the wanted one or the first free from the cursor on; null when none is free. */
  private freePort(wanted: PortWanted): number | null {
    const [from, to] = this.gangPorts;
    const taken = new Set(this.ports.values());
    if (wanted !== 'any') return wanted >= from && wanted <= to && !taken.has(wanted) ? wanted : null;
    const size = to - from + 1;
    for (let i = 0; i < size; i++) {
      const port = from + ((this.nextPort - from + i) % size);
      if (taken.has(port)) continue;
      this.nextPort = port === to ? from : port + 1;
      return port;
    }
    return null;
  }

  private portShort(wanted: PortWanted): string {
    const [from, to] = this.gangPorts;
    if (wanted === 'any') return `a gang port (all of ${from}-${to} are held)`;
    if (wanted < from || wanted > to) return `gang port ${wanted} (outside this host's range ${from}-${to})`;
    return `gang port ${wanted} (held by another run here)`;
  }

  /** What the runs here hold together. */
  inUseHeld(): Held {
    this.expire();
    return sumHeld([...this.runs.keys()].map((runId) => this.held.get(runId) ?? NOTHING));
  }

  /** The actions (by id, or run id where unknown) holding a slot here. */
  actions(): string[] {
    this.expire();
    return [...this.runs.keys()].map((runId) => this.actionOf.get(runId) ?? runId);
  }

  heldBy(runId: string): Held | undefined {
    return this.held.get(runId);
  }

  /** Stops (or, with undefined, resumes) placements here; what runs goes on. */
  drain(why: string | undefined): void {
    const was = this.drainedBy;
    this.drainedBy = why;
    if (was && !why) this.wake();
  }

  /** Stops placements while the engine is away (`why`), resumes them once it answers (undefined). */
  engineAway(why: string | undefined): void {
    const was = this.engineAwayFor;
    this.engineAwayFor = why;
    if (was && !why) this.wake();
  }

  get drained(): string | undefined {
    return this.drainedBy;
  }

  /** Whether an activity of this worker placed or touched the run within `ms` (seeding does not count). */
  servedWithin(runId: string, ms: number): boolean {
    const served = this.served.get(runId);
    return served !== undefined && this.now() - served <= ms;
  }

  /**
   * A placement reached this host: the run holds a slot until `release`. `port`: the gang port a
   * replica found running here holds again (a worker restart forgot it), unless another key holds it.
   */
  claim(runId: string, port?: number): void {
    this.runs.set(runId, this.now());
    this.served.set(runId, this.now());
    if (port !== undefined && ![...this.ports.values()].includes(port)) this.ports.set(runId, port);
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
    this.forget(runId);
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
    return this.permits === 0 && this.runs.size < this.capacity && !this.drainedBy && !this.engineAwayFor;
  }

  private issue(): Permit {
    this.permits += 1;
    return { released: false };
  }

  private async reserve(abort: AbortSignal): Promise<SlotPermit> {
    while (!this.canIssue()) {
      await new Promise<void>((resolve, reject) => {
        // Claims expire without an event: look again once they could have. (The timer never
        // keeps a stopping worker's process alive.)
        const timer = setTimeout(resolve, CLAIM_TTL_MS);
        timer.unref();
        const onAbort = () => {
          clearTimeout(timer);
          reject(Object.assign(new Error('slot reservation aborted'), { name: 'AbortError' }));
        };
        if (abort.aborted) return onAbort();
        abort.addEventListener('abort', onAbort, { once: true });
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

  private forget(runId: string): void {
    if (this.drop(runId)) {
      this.wake();
      this.onChange();
    }
  }

  /** Everything `key` holds, gone; whether it held a slot. */
  private drop(key: string): boolean {
    this.served.delete(key);
    this.held.delete(key);
    this.actionOf.delete(key);
    this.ports.delete(key);
    return this.runs.delete(key);
  }

  private expire(): void {
    const now = this.now();
    for (const [runId, seen] of this.runs) {
      if (now - seen <= CLAIM_TTL_MS) continue;
      this.drop(runId);
    }
  }
}
