// The fleet's hosts, as each worker reports itself: one small JSON object per host in the
// artifacts bucket (`.caisson-fleet/<task queue>/<host>.json`, rewritten every few seconds), and a
// drain marker beside it (`<host>.drain`) that the operator's CLI writes and the host obeys. A host
// placing an action it cannot run reads them to tell "wait for another host" from "no host could
// ever run this"; `caisson host list` reads them to show the fleet. Action ids never start with
// ".", so no action's folder can be one of these.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Held, HostTotals } from '../../spec/placement.js';
import { isMissingObject } from './s3-client.js';

/** A worker rewrites its record this often. */
export const RECORD_EVERY_MS = 5_000;
/** A record this old is a host that is gone (or cut off): it no longer counts as able to run anything. */
const LIVE_WITHIN_MS = 30_000;

export interface HostRecord {
  host: string;
  taskQueue: string;
  /** Actions at once. */
  slots: number;
  totals: HostTotals;
  inUse: Held;
  /** Action ids running here. */
  actions: string[];
  /** Where other hosts reach this one (CAISSON_HOST_ADDRESS), and the ports gang replicas get here. */
  address?: string;
  gangPorts?: [number, number];
  /** Why it takes nothing new: the operator's drain, or the worker stopping. */
  drained?: string;
  /** The worker stopped (it said so on its way out). */
  stopped?: boolean;
  startedAt: string;
  seenAt: string;
}

/** JSON has no Infinity: an unbounded total is written as null. */
const toJson = (record: HostRecord) => JSON.stringify(record, (_k, v: unknown) => (v === Infinity ? null : v));
function fromJson(text: string): HostRecord {
  const record = JSON.parse(text) as HostRecord;
  for (const key of ['cpu', 'memory', 'disk'] as const) if (record.totals[key] === null) record.totals[key] = Infinity;
  return record;
}

export const isLive = (record: HostRecord, now = Date.now()) =>
  !record.stopped && now - Date.parse(record.seenAt) <= LIVE_WITHIN_MS;

export class FleetRegistry {
  private readonly dir: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    taskQueue: string,
  ) {
    this.dir = `.caisson-fleet/${encodeURIComponent(taskQueue)}/`;
  }

  async publish(record: HostRecord): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.dir}${record.host}.json`,
        Body: toJson(record),
        ContentType: 'application/json',
      }),
    );
  }

  /** Every host that ever reported on this queue, with the operator's drain applied. */
  async hosts(): Promise<HostRecord[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.dir, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const drains = new Set(
      keys.filter((k) => k.endsWith('.drain')).map((k) => k.slice(this.dir.length, -'.drain'.length)),
    );
    const texts = await Promise.all(keys.filter((k) => k.endsWith('.json')).map((key) => this.text(key)));
    return texts
      .filter((t): t is string => t !== undefined) // removed between the listing and the read
      .map(fromJson)
      .map((r) =>
        drains.has(r.host) && !r.drained
          ? { ...r, drained: 'drained by the operator (the host has not seen it yet)' }
          : r,
      )
      .sort((a, b) => a.host.localeCompare(b.host));
  }

  /** The operator's drain of this host: why, or undefined. */
  async drainOf(host: string): Promise<string | undefined> {
    return this.text(`${this.dir}${host}.drain`);
  }

  async drain(host: string, why: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.dir}${host}.drain`,
        Body: why,
        ContentType: 'text/plain',
      }),
    );
  }

  async undrain(host: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.dir}${host}.drain` }));
  }

  private async text(key: string): Promise<string | undefined> {
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await got.Body!.transformToString('utf8');
    } catch (err) {
      if (isMissingObject(err)) return undefined;
      throw err;
    }
  }
}
