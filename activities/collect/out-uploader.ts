// Uploads the files of /out as collect finds them, from a tar stream or a host folder alike.
import type { Readable } from 'node:stream';
import type { Artifact } from '../../spec/result.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { CollectAnswer } from '../types.js';
import { printable, s3KeyProblem } from '../store/s3-key.js';

/** Files up to this size are read whole and uploaded many at a time; larger ones stream alone. */
const SMALL_FILE = 1 << 20;
const SMALL_IN_FLIGHT = 16;
/** The result lists this many artifacts; the totals count them all. */
const LISTED_ARTIFACTS = 1000;
/** The result lists this many skipped entries; skippedTotal counts them all. */
export const LISTED_SKIPPED = 100;
/**
 * A skipped entry's path and reason are cut to this many characters: a hostile /out (thousands of
 * symlinks with 4 KB targets) must not grow the result past what Temporal carries.
 */
export const SKIPPED_TEXT = 300;

export type Listing = Pick<CollectAnswer, 'artifacts' | 'skipped' | 'totals'> & { skippedTotal: number };

/** `text` cut to at most `max` characters, ending in "…" when cut (never inside a surrogate pair). */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Why a second name of a file is not uploaded. Both ways of reading /out say the same: the content
 * is in S3 once, under the first name, and this entry tells where (the path comes last so that a
 * cut keeps the words).
 */
export function hardLinkWhy(first: string): string {
  return `hard link, stored once under its first name: ${first}`;
}

/** Why an entry is skipped when it is a folder: what lies under it is not looked at either. */
export function folderWhy(why: string): string {
  return `${why}; a folder: nothing in it is stored`;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Uploads the files of /out as they are found, small ones many at a time, large ones streamed,
 * and keeps the listing: what was stored, what was skipped and why, and the totals.
 */
export class OutUploader {
  readonly artifacts: Artifact[] = [];
  readonly skipped: { path: string; why: string }[] = [];
  /** Every skipped entry counts here, also those past the listed ones. */
  skippedTotal = 0;
  readonly totals = { files: 0, bytes: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly store: ArtifactStore,
    private readonly base: string,
    private readonly progress: (files: number, bytes: number) => void,
  ) {}

  key(path: string): string {
    return `${this.base}/out/${path}`;
  }

  /** Why S3 would refuse the object of `path` (checked on the whole key), if it would. */
  keyProblem(path: string): string | undefined {
    return s3KeyProblem(this.key(path));
  }

  /**
   * Stores one regular file; `body` is read whole when small, streamed when large. A body given as
   * a function is opened only when needed (and a small one read in one call).
   */
  async file(
    path: string,
    size: number,
    body: Readable | { whole(): Promise<Buffer>; stream(): Readable },
  ): Promise<void> {
    if (this.failure) throw this.failure;
    const source = 'whole' in body ? body : { whole: () => readAll(body), stream: () => body };
    if (size <= SMALL_FILE) {
      const bytes = await source.whole();
      while (this.inFlight.size >= SMALL_IN_FLIGHT) await Promise.race(this.inFlight);
      this.track(this.store.put(this.key(path), bytes).then(() => this.record(path, size)));
    } else {
      await this.store.upload(this.key(path), source.stream());
      this.record(path, size);
    }
  }

  /**
   * Records an entry that is not uploaded. Only the first LISTED_SKIPPED are kept, cut to
   * SKIPPED_TEXT characters with control characters escaped; skippedTotal counts them all.
   */
  skip(path: string, why: string): void {
    this.skippedTotal += 1;
    if (this.skipped.length < LISTED_SKIPPED)
      this.skipped.push({ path: clip(printable(path), SKIPPED_TEXT), why: clip(printable(why), SKIPPED_TEXT) });
  }

  fail(err: unknown): void {
    this.failure ??= err;
  }

  get failed(): unknown {
    return this.failure;
  }

  async finish(): Promise<Listing> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    return { artifacts: this.artifacts, skipped: this.skipped, skippedTotal: this.skippedTotal, totals: this.totals };
  }

  private record(path: string, size: number): void {
    this.totals.files += 1;
    this.totals.bytes += size;
    if (this.artifacts.length < LISTED_ARTIFACTS)
      this.artifacts.push({ path, uri: this.store.uri(this.key(path)), size });
    this.progress(this.totals.files, this.totals.bytes);
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err) => this.fail(err)).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}
