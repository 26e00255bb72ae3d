// While `run` or `result` waits: what the action is doing (waiting for a host and why, pulling,
// running, collecting), read from the same status `caisson status` shows. Off a terminal, one
// plain line each time the phase changes: it reads the same in a CI log or a file. On a terminal,
// one live line on stderr instead, rewritten in place (\r, cleared) with the time spent in the
// phase, and cleared when the action ends or another line is printed.
import type { StatusView } from '../client/index.js';
import { formatDuration } from '../spec/quantity.js';

const POLL_MS = 1500;
/** How often the live line's clock moves: once a second, as the elapsed time shows it. */
const TICK_MS = 1000;

/** The line for a phase, or undefined when the action has ended (the summary says the rest). */
function phaseLine(actionId: string, status: StatusView): string | undefined {
  switch (status.phase) {
    case 'PENDING':
      return `caisson: ${actionId} waiting${status.waitingFor ? ` for ${status.waitingFor}` : ' for a host'}`;
    case 'PULLING':
      return `caisson: ${actionId} pulling ${status.image}${status.host ? ` on ${status.host}` : ''}`;
    case 'RUNNING':
      return `caisson: ${actionId} running${status.host ? ` on ${status.host}` : ''}${status.attempt > 1 ? ` (attempt ${status.attempt})` : ''}`;
    case 'COLLECTING':
      return `caisson: ${actionId} collecting /out and uploading the log`;
    default:
      return undefined;
  }
}

/** The live line: the phase and how long it has lasted, e.g. "caisson: a-1 running on h1 · 1m5s". */
export function livePhaseText(phase: string, elapsedMs: number): string {
  const seconds = Math.floor(elapsedMs / 1000);
  return `${phase} · ${seconds ? formatDuration(seconds * 1000) : '0s'}`;
}

/** Where the live line is drawn: a terminal's stream, or a stand-in in tests. */
export interface LiveStream {
  write(text: string): unknown;
  columns?: number;
}

/** Carriage return, then erase the line: the cursor is back at its start on an empty line. */
const CLEAR = '\r\x1b[2K';

/**
 * One line rewritten in place. Anything else printed on the terminal must clear it first (the
 * log does, through `clear`); the next tick draws it again below what was printed.
 */
export class LivePhaseLine {
  private phase: string | undefined;
  private since = 0;
  private shown = false;

  constructor(
    private readonly stream: LiveStream,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The phase now; a new phase restarts the clock. Undefined (ended) clears the line. */
  update(phase: string | undefined): void {
    if (phase !== this.phase) this.since = this.clock();
    this.phase = phase;
    this.draw();
  }

  /** Draws the line as it is now (the elapsed time moved on). */
  draw(): void {
    if (!this.phase) return this.clear();
    const text = livePhaseText(this.phase, this.clock() - this.since);
    // Longer than the terminal is wide, it would wrap and \r could no longer take it back.
    const width = this.stream.columns;
    this.stream.write(CLEAR + (width && text.length >= width ? `${text.slice(0, width - 2)}…` : text));
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write(CLEAR);
    this.shown = false;
  }
}

/** Polls the status until `until` settles, handing each phase line (undefined once ended) to `seen`. */
async function pollPhases(
  actionId: string,
  readStatus: () => Promise<StatusView>,
  until: Promise<unknown>,
  seen: (text: string | undefined) => void,
  pollMs: number,
): Promise<void> {
  let ended = false;
  void until.finally(() => (ended = true)).catch(() => {});
  while (!ended) {
    const status = await readStatus().catch(() => undefined);
    // A status that cannot be read is skipped, not fatal.
    if (!ended && status) seen(phaseLine(actionId, status));
    await Promise.race([until.catch(() => {}), new Promise((r) => setTimeout(r, pollMs))]);
  }
}

/** Prints phase changes until `until` settles, one line each. */
export async function followPhases(
  actionId: string,
  readStatus: () => Promise<StatusView>,
  until: Promise<unknown>,
  line: (text: string) => void,
  pollMs = POLL_MS,
): Promise<void> {
  let last: string | undefined;
  await pollPhases(
    actionId,
    readStatus,
    until,
    (text) => {
      if (text && text !== last) line(text);
      last = text ?? last;
    },
    pollMs,
  );
}

/** Keeps `live` showing the phase until `until` settles, its clock ticking; then clears it. */
export async function followPhasesLive(
  actionId: string,
  readStatus: () => Promise<StatusView>,
  until: Promise<unknown>,
  live: LivePhaseLine,
  pollMs = POLL_MS,
  tickMs = TICK_MS,
): Promise<void> {
  const ticker = setInterval(() => live.draw(), tickMs);
  try {
    await pollPhases(actionId, readStatus, until, (text) => live.update(text), pollMs);
  } finally {
    clearInterval(ticker);
    live.clear();
  }
}

/** The phases shown on `stream`: a live line when it is a terminal, plain lines elsewhere. */
export function phasesOn(stream: NodeJS.WriteStream) {
  const live = stream.isTTY ? new LivePhaseLine(stream) : undefined;
  return {
    follow: (actionId: string, readStatus: () => Promise<StatusView>, until: Promise<unknown>) =>
      live
        ? followPhasesLive(actionId, readStatus, until, live)
        : followPhases(actionId, readStatus, until, (text) => void stream.write(`${text}\n`)),
    /** Takes the live line away before anything else is printed on the terminal. */
    clear: () => live?.clear(),
  };
}
