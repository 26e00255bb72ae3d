// Whether this worker is alive and whether it should be sent work, as /healthz and /readyz say
// (ops-server.ts): alive while its event loop turns; ready while its Temporal workers poll, its
// container engine has answered lately and it is not drained.
import type Docker from 'dockerode';
import type { Worker } from '@temporalio/worker';
import type { HostCapacity } from '../activities/placement/capacity.js';

/** How often the event loop's lag is measured, and past which lag the process counts as stuck. */
const TICK_MS = 1_000;
const STUCK_MS = 5_000;
/** How often the engine is pinged, and how long ago its last answer may be for the host to be ready. */
const PING_EVERY_MS = 5_000;
const ENGINE_ANSWERED_WITHIN_MS = 30_000;

export interface Verdict {
  ok: boolean;
  /** Why not, one reason each, for the operator reading the probe's answer. */
  reasons: string[];
}

export class Readiness {
  private lastTick: number;
  private lagMs = 0;
  private engineAnsweredAt: number | undefined;
  private serving: { workers: Worker[]; capacity: HostCapacity; docker: Docker } | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly now: () => number = Date.now) {
    this.lastTick = now();
    const ticker = setInterval(() => {
      const at = this.now();
      this.lagMs = Math.max(0, at - this.lastTick - TICK_MS);
      this.lastTick = at;
    }, TICK_MS);
    ticker.unref();
    this.timers.push(ticker);
  }

  /** From now on the host's state counts: its workers, what it holds, its engine (pinged from here on). */
  serve(serving: { workers: Worker[]; capacity: HostCapacity; docker: Docker }): void {
    this.serving = serving;
    this.engineAnsweredAt = this.now(); // it answered while the host was prepared
    const ping = setInterval(() => {
      serving.docker.ping().then(
        () => (this.engineAnsweredAt = this.now()),
        () => {},
      );
    }, PING_EVERY_MS);
    ping.unref();
    this.timers.push(ping);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  live(): Verdict {
    const since = this.now() - this.lastTick;
    const stuck = Math.max(this.lagMs, since - TICK_MS);
    return stuck > STUCK_MS
      ? { ok: false, reasons: [`the event loop was held for ${Math.round(stuck / 1000)} s`] }
      : { ok: true, reasons: [] };
  }

  /** Whether the engine answered a ping lately (false before the host is served). */
  engineAnswering(): boolean {
    const answered = this.engineAnsweredAt;
    return answered !== undefined && this.now() - answered <= ENGINE_ANSWERED_WITHIN_MS;
  }

  ready(): Verdict {
    const reasons = [...this.live().reasons];
    const serving = this.serving;
    if (!serving) return { ok: false, reasons: [...reasons, 'starting: the workers do not poll yet'] };
    const notPolling = serving.workers.map((w) => w.getState()).filter((state) => state !== 'RUNNING');
    if (notPolling.length) reasons.push(`Temporal workers not polling (${notPolling.join(', ')})`);
    if (!this.engineAnswering())
      reasons.push(`the container engine has not answered for ${ENGINE_ANSWERED_WITHIN_MS / 1000} s`);
    if (serving.capacity.drained) reasons.push(`drained: ${serving.capacity.drained}`);
    return { ok: reasons.length === 0, reasons };
  }
}
