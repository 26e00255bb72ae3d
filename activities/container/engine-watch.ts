// Notices at once when the container engine goes away, by holding one of its event streams open for
// as long as the worker runs. The stream ending is the signal: a dockerd killed with SIGKILL closes
// its socket mid-answer, and a `wait` or log follow open at that moment then never settles (the
// client sees neither an end nor an error), so a run cannot learn it from its own calls. A dockerd
// that restarts within a fraction of a second is noticed too, which pings would miss.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../spec/failures.js';

/** How often a broken stream is opened again while the engine is away. */
const REOPEN_EVERY_MS = 250;

/** The engine's connection broke while a run's call was open on it. */
export class EngineLost extends Error {
  constructor(host: string, what = 'went away (its connection broke) while the run was watched') {
    super(`the container engine of host ${host} ${what}`);
    this.name = 'EngineLost';
  }
}

/** The engine's socket closed or refused us: dockerd stopped or restarted, not a reply of its own. */
export function engineGone(err: unknown): boolean {
  if (err instanceof EngineLost) return true;
  const e = err as { code?: string; message?: string; statusCode?: number };
  if (e?.statusCode) return false;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE'].includes(e?.code ?? '') ||
    /socket hang up|connect ENOENT/i.test(e?.message ?? '')
  );
}

/** The engine stayed away past `awayMs` (CAISSON_ENGINE_AWAY_SECONDS): the workflow places the action on another host. */
export function engineUnavailable(host: string, awayMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.EngineUnavailable,
    nonRetryable: true,
    message: `the container engine of host ${host} did not answer for ${Math.round(awayMs / 1000)} s; the action is placed again`,
  });
}

type EventStream = NodeJS.ReadableStream & { destroy(): void };

export class EngineWatch {
  private breaks = 0;
  private awaySince: number | undefined;
  private stream: EventStream | undefined;
  private stopped = false;
  private waiters: { after: number; resolve: () => void }[] = [];

  constructor(
    private readonly docker: Docker,
    /** Told when the engine goes away (true) and when it answers again (false). */
    private readonly onChange: (away: boolean) => void = () => {},
  ) {}

  /** Opens the stream; resolves once it is open (the engine answers), retrying until then. */
  async start(): Promise<void> {
    await this.open();
  }

  stop(): void {
    this.stopped = true;
    this.stream?.destroy();
  }

  /** How many times the engine's connection broke since the worker started. */
  get epoch(): number {
    return this.breaks;
  }

  /** Whether the engine is away now (its stream broke and could not be opened again yet). */
  get away(): boolean {
    return this.awaySince !== undefined;
  }

  /**
   * `broken` resolves once the connection breaks after `epoch` (at once when it has already);
   * `forget` drops the wait (a run that ended without a break must not be kept in the list).
   */
  brokenSince(epoch: number): { broken: Promise<void>; forget: () => void } {
    if (this.breaks > epoch) return { broken: Promise.resolve(), forget: () => {} };
    let waiter: { after: number; resolve: () => void } | undefined;
    const broken = new Promise<void>((resolve) => {
      waiter = { after: epoch, resolve };
      this.waiters.push(waiter);
    });
    return { broken, forget: () => (this.waiters = this.waiters.filter((w) => w !== waiter)) };
  }

  /**
   * Resolves true once the engine answers (its stream is open again and a ping succeeds), false
   * when `boundMs` passes first or `signal` aborts.
   */
  async answering(boundMs: number, signal?: AbortSignal): Promise<boolean> {
    const until = Date.now() + boundMs;
    while (!signal?.aborted) {
      if (
        !this.away &&
        (await this.docker.ping().then(
          () => true,
          () => false,
        ))
      )
        return true;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, REOPEN_EVERY_MS));
    }
    return false;
  }

  private async open(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        // Only the daemon's own events (a reload now and then): the stream is all but silent.
        const stream = (await this.docker.getEvents({ filters: { type: ['daemon'] } })) as unknown as EventStream;
        if (this.stopped) return stream.destroy();
        this.stream = stream;
        stream.resume(); // its few events are not read, only its end
        let ended = false;
        const onEnd = () => {
          if (ended) return;
          ended = true;
          this.broke();
        };
        stream.on('error', onEnd);
        stream.on('end', onEnd);
        stream.on('close', onEnd);
        if (this.awaySince !== undefined) {
          this.awaySince = undefined;
          this.onChange(false);
        }
        return;
      } catch {
        await new Promise((r) => setTimeout(r, REOPEN_EVERY_MS));
      }
    }
  }

  private broke(): void {
    if (this.stopped) return;
    this.breaks += 1;
    if (this.awaySince === undefined) {
      this.awaySince = Date.now();
      this.onChange(true);
    }
    const ready = this.waiters.filter((w) => this.breaks > w.after);
    this.waiters = this.waiters.filter((w) => this.breaks <= w.after);
    for (const w of ready) w.resolve();
    void this.open();
  }
}
