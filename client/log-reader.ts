// Reads the live log of a run from S3 (segments written by the host, see common/storage/log-segments.ts):
// every line in order, from the start or from where the caller asks, following it while the
// action runs. Nothing here goes through Temporal per line: the run's state is looked at about
// once a second, only to learn where the log is and whether more can come.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isMissingObject } from '../common/storage/s3-client.js';
import {
  FrameSplitter,
  endKey,
  segmentKey,
  splitTimestamp,
  timeNs,
  type LogEnd,
  type StreamName,
} from '../common/storage/log-segments.js';

export interface LogLine {
  attempt: number;
  stream: StreamName;
  /** The engine's time of the write (RFC 3339 with nanoseconds). */
  time: string;
  /** The line without its newline. A line longer than MAX_LINE is cut into several. */
  text: string;
}

export interface LogOptions {
  /** Keep reading while the action runs (default false: what is there now, then stop). */
  follow?: boolean;
  /** Only this attempt; by default every attempt, one after the other. */
  attempt?: number;
  /** Only lines written at or after this time. */
  since?: Date;
  /** Start with the last N lines there are now (after the other filters). */
  tail?: number;
  /** Only these streams (default both). */
  streams?: StreamName[];
  /** How often S3 is asked for the next segment while following (default 300 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /**
   * The run's end, when the caller awaits it anyway (its result): once this settles, a follower
   * asks for the run's state at once instead of at its next once-a-second look, and stops after a
   * last read, so the log's end is not later than the result by up to a second.
   */
  until?: Promise<unknown>;
}

/** What a reader needs to know of the run, looked up at most once a second. */
export interface RunLogState {
  closed: boolean;
  /** s3://bucket/prefix of the live log, once a host has started on the run. */
  liveLogs?: string;
  /** The run's attempts so far (when closed: all of them). */
  attempts?: number;
}

export const MAX_LINE = 64 << 10;
/** Segments fetched ahead while catching up: at most this many MiB held at once. */
const PREFETCH = 4;
const STATE_EVERY_MS = 1000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// location: ${uri}`);
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, '') };
}

/** Joins frames into lines per stream; a line that grows past MAX_LINE is given out in pieces. */
export class LineAssembler {
  private readonly open: Record<StreamName, { time: string; parts: Buffer[]; bytes: number }> = {
    stdout: { time: '', parts: [], bytes: 0 },
    stderr: { time: '', parts: [], bytes: 0 },
  };

  constructor(private readonly attempt: number) {}

  push(stream: StreamName, time: string, data: Buffer): LogLine[] {
    const lines: LogLine[] = [];
    const open = this.open[stream];
    let at = 0;
    while (at < data.length) {
      const newline = data.indexOf(0x0a, at);
      const end = newline < 0 ? data.length : newline;
      if (!open.parts.length) open.time = time;
      const piece = data.subarray(at, Math.min(end, at + MAX_LINE - open.bytes));
      open.parts.push(piece);
      open.bytes += piece.length;
      at += piece.length;
      if (newline >= 0 && at === newline) {
        at++;
        lines.push(this.take(stream));
      } else if (open.bytes >= MAX_LINE) lines.push(this.take(stream));
    }
    return lines;
  }

  /** Lines without a final newline, at the end of an attempt. */
  flush(): LogLine[] {
    return (['stdout', 'stderr'] as const).filter((s) => this.open[s].parts.length).map((s) => this.take(s));
  }

  private take(stream: StreamName): LogLine {
    const open = this.open[stream];
    const text = Buffer.concat(open.parts).toString('utf8').replace(/\r$/, '');
    const line = { attempt: this.attempt, stream, time: open.time, text };
    open.time = '';
    open.parts = [];
    open.bytes = 0;
    return line;
  }
}

function linesOf(assembler: LineAssembler, body: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  const splitter = new FrameSplitter();
  for (const frame of splitter.push(body)) {
    const { time, data } = splitTimestamp(frame.payload);
    lines.push(...assembler.push(frame.stream, time, data));
  }
  return lines;
}

type Item = LogLine | 'caught-up';

class SegmentSource {
  private readonly ahead = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  private get(key: string): Promise<Buffer | undefined> {
    return this.s3
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      .then(async (r) => Buffer.from(await r.Body!.transformToByteArray()))
      .catch((err) => {
        if (isMissingObject(err)) return undefined;
        throw err;
      });
  }

  /** Segment `seq` of an attempt, or undefined when it is not there (yet). */
  async segment(attempt: number, seq: number): Promise<Buffer | undefined> {
    const key = segmentKey(this.prefix, attempt, seq);
    const pending = this.ahead.get(key) ?? this.get(key);
    this.ahead.delete(key);
    const body = await pending;
    if (body) {
      // Catching up: the next few are probably there too.
      for (let next = seq + 1; next <= seq + PREFETCH; next++) {
        const k = segmentKey(this.prefix, attempt, next);
        if (!this.ahead.has(k)) {
          const p = this.get(k);
          p.catch(() => {});
          this.ahead.set(k, p);
        }
      }
    } else this.ahead.clear(); // what was fetched ahead of a missing one is missing too
    return body;
  }

  async end(attempt: number): Promise<LogEnd | undefined> {
    const body = await this.get(endKey(this.prefix, attempt));
    return body ? (JSON.parse(body.toString('utf8')) as LogEnd) : undefined;
  }
}

/** The run's state, looked up again only when the last look is a second old or more. */
class RunWatch {
  private checkedAt = Date.now();
  /** Set once the caller's `until` settled: the next look at the run's state is not held back. */
  private ended = false;

  private constructor(
    private readonly lookup: () => Promise<RunLogState>,
    private current: RunLogState,
  ) {}

  get run(): RunLogState {
    return this.current;
  }

  static async start(lookup: () => Promise<RunLogState>): Promise<RunWatch> {
    return new RunWatch(lookup, await lookup());
  }

  /** The caller knows the run has ended: the state is looked up at once from now on. */
  endedNow(): void {
    this.ended = true;
  }

  async refresh(): Promise<void> {
    if (!this.ended && Date.now() - this.checkedAt < STATE_EVERY_MS) return;
    this.current = await this.lookup();
    this.checkedAt = Date.now();
  }
}

/** Where the live log is, once a host has started on the run; undefined when there is none to read (yet). */
async function liveLogsOf(
  watch: RunWatch,
  options: LogOptions,
  pollMs: number,
  naps: AbortSignal,
): Promise<string | undefined> {
  while (!watch.run.liveLogs) {
    // Not placed yet, or it ended without running a container: nothing to read (yet).
    if (watch.run.closed || !options.follow || options.signal?.aborted) return undefined;
    await sleep(pollMs, naps);
    await watch.refresh();
  }
  return watch.run.liveLogs;
}

async function* segmentsInOrder(
  s3: S3Client,
  state: () => Promise<RunLogState>,
  options: LogOptions,
): AsyncGenerator<Item> {
  const pollMs = options.pollMs ?? 300;
  const watch = await RunWatch.start(state);
  // The caller's `until` ends a wait between polls at once, and lifts the limit on state lookups.
  const woken = new AbortController();
  void options.until?.then(
    () => (watch.endedNow(), woken.abort()),
    () => (watch.endedNow(), woken.abort()),
  );
  const naps = options.signal ? AbortSignal.any([options.signal, woken.signal]) : woken.signal;
  const liveLogs = await liveLogsOf(watch, options, pollMs, naps);
  if (!liveLogs) {
    yield 'caught-up';
    return;
  }
  const { bucket, prefix } = parseS3Uri(liveLogs);
  yield* attemptsInOrder(new SegmentSource(s3, bucket, prefix), watch, options, pollMs, naps);
}

/** Every attempt's segments as lines (or the one attempt asked for), following while the run goes on. */
async function* attemptsInOrder(
  source: SegmentSource,
  watch: RunWatch,
  options: LogOptions,
  pollMs: number,
  /** Ends a wait between polls: the caller's signal, or its `until` settling. */
  naps: AbortSignal,
): AsyncGenerator<Item> {
  const { signal } = options;
  const fixed = options.attempt !== undefined;
  let attempt = options.attempt ?? 1;
  let seq = 0;
  let assembler = new LineAssembler(attempt);
  let finalPass = false;
  let caughtUp = false;
  const nextAttempt = () => {
    attempt++;
    seq = 0;
    assembler = new LineAssembler(attempt);
  };
  while (!signal?.aborted) {
    const body = await source.segment(attempt, seq);
    if (body) {
      seq++;
      yield* linesOf(assembler, body);
      continue;
    }
    // Nothing more in this attempt for now.
    const ended = await source.end(attempt);
    const attemptDone = ended !== undefined && ended.segments <= seq;
    if (attemptDone || watch.run.closed) {
      yield* assembler.flush();
      if (!fixed && (await source.segment(attempt + 1, 0))) {
        nextAttempt();
        continue;
      }
      if (fixed && attemptDone) break;
    }
    if (!caughtUp) {
      caughtUp = true;
      yield 'caught-up';
    }
    if (!options.follow) break;
    await watch.refresh();
    if (watch.run.closed) {
      // Everything is in S3 once the run is closed: one more look at each attempt left, then stop.
      if (!finalPass) {
        finalPass = true;
        continue;
      }
      if (!fixed && (watch.run.attempts ?? 0) > attempt) {
        nextAttempt();
        finalPass = false;
        continue;
      }
      break;
    }
    await sleep(pollMs, naps);
  }
  yield* assembler.flush();
  if (!caughtUp) yield 'caught-up';
}

/** The run's log as lines: filtered, optionally starting with the last N, optionally following. */
export async function* readLog(
  s3: S3Client,
  state: () => Promise<RunLogState>,
  options: LogOptions = {},
): AsyncGenerator<LogLine> {
  const sinceNs = options.since ? BigInt(options.since.getTime()) * 1_000_000n : undefined;
  const wanted = (line: LogLine) =>
    (!options.streams || options.streams.includes(line.stream)) &&
    (sinceNs === undefined || timeNs(line.time) >= sinceNs);
  // With a tail, lines are held (the last N only) until the reader has caught up with the log.
  const tail = options.tail !== undefined ? new LastLines(options.tail) : undefined;
  let holding = tail !== undefined;
  for await (const item of segmentsInOrder(s3, state, options)) {
    if (item === 'caught-up') {
      if (holding) yield* tail!.drain();
      holding = false;
    } else if (!wanted(item)) continue;
    else if (holding) tail!.push(item);
    else yield item;
  }
}

/** The last N lines seen, in a ring: memory is N lines whatever the log's length. */
class LastLines {
  private readonly ring: LogLine[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  push(line: LogLine): void {
    if (this.size <= 0) return;
    if (this.ring.length < this.size) this.ring.push(line);
    else this.ring[this.next] = line;
    this.next = (this.next + 1) % this.size;
  }

  drain(): LogLine[] {
    const lines =
      this.ring.length < this.size ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return [...lines];
  }
}
