// Uploads the files of /out as collect finds them, from a tar stream or a host folder alike.
import type { Readable } from 'node:stream';
import type { Artifact } from '../spec/result.js';
import type { ArtifactStore } from './artifact-store.js';
import type { CollectAnswer } from './types.js';

/** Files up to this size are read whole and uploaded many at a time; larger ones stream alone. */
const SMALL_FILE = 1 << 20;
const SMALL_IN_FLIGHT = 16;
/** The result lists this many artifacts; the totals count them all. */
export const LISTED_ARTIFACTS = 1000;

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

  /**
   * Stores one regular file; `body` is read whole when small, streamed when large. A body given as
   * a function is opened only when needed (and a small one read in one call).
   */
  async file(path: string, size: number, body: Readable | { whole(): Promise<Buffer>; stream(): Readable }): Promise<void> {
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

  /** A second name of a file already stored under /out: a server-side copy. */
  async copy(path: string, of: string): Promise<void> {
    await Promise.all(this.inFlight);
    await this.store.copy(this.key(of), this.key(path));
    this.record(path, (await this.store.size(this.key(path))) ?? 0);
  }

  skip(path: string, why: string): void {
    this.skipped.push({ path, why });
  }

  fail(err: unknown): void {
    this.failure ??= err;
  }

  get failed(): unknown {
    return this.failure;
  }

  async finish(): Promise<Pick<CollectAnswer, 'artifacts' | 'skipped' | 'totals'>> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    return { artifacts: this.artifacts, skipped: this.skipped, totals: this.totals };
  }

  private record(path: string, size: number): void {
    this.totals.files += 1;
    this.totals.bytes += size;
    if (this.artifacts.length < LISTED_ARTIFACTS) this.artifacts.push({ path, uri: this.store.uri(this.key(path)), size });
    this.progress(this.totals.files, this.totals.bytes);
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err) => this.fail(err)).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}

