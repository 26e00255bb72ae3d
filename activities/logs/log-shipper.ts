// Ships a container's log to S3 while it runs, as numbered segments (common/storage/log-segments.ts), so
// that followers read every line from durable storage and never from a worker's memory.
//
// Resuming: each segment records, in its metadata, the container that wrote it and the position
// reached (time of the last frame and how many frames had that time). A try of the activity that
// re-attaches after a crash reads the engine's log again from that time and skips what was shipped:
// nothing the engine kept is lost, nothing is shipped twice. Segments are put one after the other,
// never two at once, so a crash never leaves a gap.
import {
  ListObjectsV2Command,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isMissingObject } from '../../common/storage/s3-client.js';
import { isBucketRefusal } from '../store/artifact-store.js';
import type { Redactor } from './redaction.js';
import {
  FrameSplitter,
  LOG_START,
  PositionTracker,
  SEGMENT_MAX_BYTES,
  endKey,
  segmentKey,
  splitTimestamp,
  type LogEnd,
  type LogPosition,
  type StreamName,
} from '../../common/storage/log-segments.js';

/** A segment is put at most this long after its first frame arrived. */
const FLUSH_AFTER_MS = 1000;
/** While the container runs, a failed put is tried again after at most this long, for as long as it runs. */
const RETRY_CAP_MS = 5000;
/** After the container ended, a put is tried this often before the activity gives up (and is retried). */
const FINAL_TRIES = 5;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Resume {
  nextSeq: number;
  /** Bytes in the segments earlier tries put. */
  bytes: number;
  container?: string;
  position: LogPosition;
  ended?: LogEnd;
}

/** What an earlier try of this attempt shipped: how many segments, and where the last one ended. */
async function probe(s3: S3Client, bucket: string, prefix: string, attempt: number): Promise<Resume> {
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${attempt}/`, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (!/\/\d{8}$/.test(o.Key ?? '')) continue;
      count++;
      bytes += o.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (count === 0) return { nextSeq: 0, bytes: 0, position: LOG_START };
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: segmentKey(prefix, attempt, count - 1) }));
  const meta = head.Metadata ?? {};
  const ended = await s3
    .send(new GetObjectCommand({ Bucket: bucket, Key: endKey(prefix, attempt) }))
    .then(async (r) => JSON.parse(await r.Body!.transformToString('utf8')) as LogEnd)
    .catch((err) => {
      if (isMissingObject(err)) return undefined;
      throw err;
    });
  return {
    nextSeq: count,
    bytes,
    container: meta.container,
    position: { ns: BigInt(meta['last-ns'] ?? '-1'), sameTime: Number(meta['same-time'] ?? 0) },
    ended: ended && ended.segments === count ? ended : undefined,
  };
}

/** How much of the first frame is kept to recognise it again. */
const FIRST_FRAME_BYTES = 256;

export class LogShipper {
  private tracker = new PositionTracker(LOG_START);
  private container = '';
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Bytes of the segments this try has put or is putting. */
  private flushedBytes = 0;
  private seq: number;
  private putting: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastPutAt = 0;
  private closing = false;
  private ending?: Promise<void>;
  private failure: unknown;
  /** Bytes shipped by this try (not counting what an earlier try shipped). */
  shippedBytes = 0;
  /** The log went past the action's logSize: the frames after that point were not shipped. */
  cut = false;
  /**
   * The start of the container's first frame, when this try read its log from the very beginning:
   * a log the engine keeps that begins otherwise at collection had its start rotated away.
   */
  firstFrame: Buffer | undefined;

  private readonly failed = settleLater();
  /** Masks secrets in each frame before it is shipped, when the action has any. */
  private redactor?: Redactor;

  private constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly attempt: number,
    private readonly resume: Resume,
    /** The most bytes of frames shipped for this attempt, over all tries (the action's logSize). */
    private readonly limitBytes: number,
  ) {
    this.seq = resume.nextSeq;
  }

  /**
   * Looks up what earlier tries shipped; start it early, it needs no container. Asked on a first
   * try too, when nothing can have been shipped yet: the listing is how a missing bucket or refused
   * credentials end the action before its container starts.
   */
  static async open(
    s3: S3Client,
    bucket: string,
    prefix: string,
    attempt: number,
    limitBytes = Infinity,
  ): Promise<LogShipper> {
    return new LogShipper(s3, bucket, prefix, attempt, await probe(s3, bucket, prefix, attempt), limitBytes);
  }

  /**
   * Binds the shipper to the container whose log it ships. Another container's segments (a host
   * that was lost ran this attempt before) stay as they are; this one's follow them.
   */
  bind(containerId: string, redactor?: Redactor): void {
    this.container = containerId;
    this.redactor = redactor?.active ? redactor : undefined;
    this.tracker = new PositionTracker(this.resume.container === containerId ? this.resume.position : LOG_START);
  }

  /** The whole log of this container is shipped already (an earlier try finished). */
  get complete(): boolean {
    return this.resume.ended?.container === this.container && this.resume.container === this.container;
  }

  /** Whole seconds to ask the engine for, so a resumed read does not start from the beginning. */
  get sinceSeconds(): number | undefined {
    const { ns } = this.tracker.current;
    return ns < 0n ? undefined : Number(ns / 1_000_000_000n);
  }

  /**
   * Reads the engine's log stream (with timestamps) to its end, shipping every frame not shipped
   * before, and telling `onFrame` about each (for the tail in heartbeats).
   */
  async consume(source: AsyncIterable<Buffer>, onFrame?: (stream: StreamName, data: Buffer) => void): Promise<void> {
    const splitter = new FrameSplitter();
    this.tracker.startRead();
    let previous: Buffer | undefined;
    for await (const chunk of source) {
      for (const frame of splitter.push(chunk)) {
        const { ns, data } = splitTimestamp(frame.payload);
        if (this.tracker.seen(ns)) continue;
        // The engine's follow stream was seen to give a container's last line twice as it stopped:
        // the same frame, timestamp to the nanosecond included, is never a line of its own.
        if (previous?.equals(frame.raw)) continue;
        if (!this.firstFrame && this.tracker.current.ns < 0n)
          this.firstFrame = Buffer.from(data.subarray(0, FIRST_FRAME_BYTES));
        previous = Buffer.from(frame.raw);
        this.tracker.advance(ns);
        // The frame is copied: a chunk of the engine's stream is not kept alive for one frame of it.
        const raw = this.redactor ? redactFrame(frame.raw, frame.payload, data, this.redactor) : Buffer.from(frame.raw);
        onFrame?.(frame.stream, data);
        // Past logSize nothing more is shipped (the engine keeps the newest logSize for the end).
        this.cut ||= this.resume.bytes + this.flushedBytes + this.partBytes + raw.length > this.limitBytes;
        if (this.cut) continue;
        this.parts.push(raw);
        this.partBytes += raw.length;
        if (this.partBytes >= SEGMENT_MAX_BYTES) {
          // One segment in flight and one filling: a slow S3 slows the reading, not the memory.
          await this.putting;
          this.flush();
        } else this.schedule();
      }
      if (this.failure) throw this.failure;
    }
  }

  /**
   * Ships what is left and writes end.json: followers of this attempt stop after it. Called again,
   * it answers the first call's promise: the end is written once.
   */
  finish(): Promise<void> {
    return (this.ending ??= this.end());
  }

  /** Settles once a finish under way has written end.json (at once when none was asked for). */
  ended(): Promise<void> {
    return this.ending ?? Promise.resolve();
  }

  private async end(): Promise<void> {
    this.closing = true;
    this.flush();
    await this.putting;
    if (this.failure) throw this.failure;
    const end: LogEnd = { segments: this.seq, container: this.container };
    await this.put(endKey(this.prefix, this.attempt), Buffer.from(JSON.stringify(end)), {});
  }

  /** Stops the timer; what was not put yet is shipped by the next try, which reads it again. */
  abandon(): void {
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    // A line after a quiet spell goes at once; a chatty log is put at most once a second.
    const wait = Math.max(0, this.lastPutAt + FLUSH_AFTER_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.partBytes === 0) return;
    const body = Buffer.concat(this.parts);
    this.parts = [];
    this.partBytes = 0;
    this.flushedBytes += body.length;
    const key = segmentKey(this.prefix, this.attempt, this.seq++);
    const { ns, sameTime } = this.tracker.current;
    const metadata = { container: this.container, 'last-ns': ns.toString(), 'same-time': String(sameTime) };
    this.lastPutAt = Date.now();
    this.putting = this.putting.then(async () => {
      if (this.failure) return;
      try {
        await this.put(key, body, metadata);
        this.shippedBytes += body.length;
      } catch (err) {
        this.failure = err;
        this.failed.reject(err);
      }
    });
  }

  /** Rejects once a segment could not be shipped, so a run need not wait for its container to notice. */
  whenFailed(): Promise<never> {
    return this.failed.promise;
  }

  private async put(key: string, body: Buffer, metadata: Record<string, string>): Promise<void> {
    for (let tryNo = 1; ; tryNo++) {
      try {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            Metadata: metadata,
            ContentType: 'application/octet-stream',
          }),
        );
        return;
      } catch (err) {
        // While the container runs, S3 may come back: keep the segment and try again. Once it has
        // ended the activity gives up after a few tries; its retry resumes from the last segment.
        // A bucket that is gone or refuses us will not come back by waiting: give up at once.
        if (isBucketRefusal(err) || (this.closing && tryNo >= FINAL_TRIES)) throw err;
        await delay(Math.min(RETRY_CAP_MS, 250 * 2 ** Math.min(tryNo, 5)));
      }
    }
  }
}

function settleLater(): { promise: Promise<never>; reject: (err: unknown) => void } {
  let reject!: (err: unknown) => void;
  const promise = new Promise<never>((_, no) => (reject = no));
  promise.catch(() => {}); // observed by whoever races it
  return { promise, reject };
}

/** The frame again with its text masked: same stream and timestamp, the header's length updated. */
function redactFrame(raw: Buffer, payload: Buffer, data: Buffer, redactor: Redactor): Buffer {
  const masked = redactor.bytes(data);
  if (masked === data) return Buffer.from(raw);
  const stamp = payload.subarray(0, payload.length - data.length); // "<RFC 3339 time> "
  const header = Buffer.from(raw.subarray(0, 8));
  header.writeUInt32BE(stamp.length + masked.length, 4);
  return Buffer.concat([header, stamp, masked]);
}
