// The live log of a run as it is kept in S3: numbered segments per attempt, shipped by the host
// while the container runs and read by every follower (CLI, client, GitHub Action).
//
//   <action folder>/logs/live/<run id>/<attempt>/00000000, 00000001, …   the log, in order
//   <action folder>/logs/live/<run id>/<attempt>/end.json                 written after the last one
//
// A segment holds the engine's own frames, unchanged: 8 header bytes (stream id, 3 zero bytes,
// big-endian length), then "<RFC 3339 time with nanoseconds> <bytes as written>". Binary output,
// partial lines and the stdout/stderr distinction all survive, and the time orders every frame.

export type StreamName = 'stdout' | 'stderr';

/** A segment is cut at this size (or after a second, whichever comes first). */
export const SEGMENT_MAX_BYTES = 1 << 20;

export function liveLogPrefix(actionFolder: string, runId: string): string {
  return `${actionFolder}/logs/live/${runId}`;
}

export function segmentKey(prefix: string, attempt: number, seq: number): string {
  return `${prefix}/${attempt}/${String(seq).padStart(8, '0')}`;
}

export function endKey(prefix: string, attempt: number): string {
  return `${prefix}/${attempt}/end.json`;
}

/** What end.json says: how many segments the attempt has, and which container wrote them last. */
export interface LogEnd {
  segments: number;
  container: string;
}

/** One frame of the engine's log stream. `raw` is the whole frame, header included. */
export interface RawFrame {
  stream: StreamName;
  raw: Buffer;
  payload: Buffer;
}

/** Cuts a byte stream into whole frames; a frame split across chunks waits for its rest. */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: RawFrame[] = [];
    let at = 0;
    while (this.pending.length - at >= 8) {
      const size = this.pending.readUInt32BE(at + 4);
      if (this.pending.length - at < 8 + size) break;
      frames.push({
        stream: this.pending[at] === 2 ? 'stderr' : 'stdout',
        raw: this.pending.subarray(at, at + 8 + size),
        payload: this.pending.subarray(at + 8, at + 8 + size),
      });
      at += 8 + size;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an unfinished frame: a stream that ends with some was cut short. */
  get leftover(): number {
    return this.pending.length;
  }
}

export interface TimedPayload {
  /** The engine's time of the write, as it printed it (RFC 3339, nanoseconds). */
  time: string;
  /** The same time in nanoseconds since the epoch; 0n when the frame carried none. */
  ns: bigint;
  data: Buffer;
}

const TIME_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) /;

function nsOf(match: RegExpExecArray): bigint {
  const seconds = Date.parse(`${match[1]}${match[3]}`) / 1000;
  return BigInt(seconds) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Splits "<time> <data>" as the engine writes it with timestamps on. */
export function splitTimestamp(payload: Buffer): TimedPayload {
  // The time is at most 35 characters; only that much is decoded, whatever the frame's size.
  const head = payload.subarray(0, 40).toString('latin1');
  const match = TIME_PREFIX.exec(head);
  if (!match) return { time: '', ns: 0n, data: payload };
  return { time: head.slice(0, match[0].length - 1), ns: nsOf(match), data: payload.subarray(match[0].length) };
}

/** Nanoseconds since the epoch of a time as the engine prints it; 0n for anything else. */
export function timeNs(time: string): bigint {
  const match = TIME_PREFIX.exec(`${time} `);
  return match ? nsOf(match) : 0n;
}

/** A position in a container's log: the last shipped frame's time, and how many frames had it. */
export interface LogPosition {
  ns: bigint;
  sameTime: number;
}

export const LOG_START: LogPosition = { ns: -1n, sameTime: 0 };

/**
 * Follows a position through reads of a log. Each read (`startRead`) begins at or before the
 * position: frames up to it were shipped before and are skipped (frames with equal times are told
 * apart by their count, in the order the engine keeps); from the first frame past it, every frame
 * of that read is new.
 */
export class PositionTracker {
  private skipping = true;
  private skippedAtSame = 0;

  constructor(private position: LogPosition) {}

  get current(): LogPosition {
    return { ...this.position };
  }

  startRead(): void {
    this.skipping = true;
    this.skippedAtSame = 0;
  }

  /** True for a frame that was shipped before: skip it. */
  seen(ns: bigint): boolean {
    if (!this.skipping) return false;
    if (ns < this.position.ns) return true;
    if (ns === this.position.ns && this.skippedAtSame < this.position.sameTime) {
      this.skippedAtSame++;
      return true;
    }
    this.skipping = false;
    return false;
  }

  advance(ns: bigint): void {
    if (ns === this.position.ns) this.position.sameTime++;
    else this.position = { ns, sameTime: 1 };
  }
}
