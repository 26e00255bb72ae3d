// /out read from the container's folder (collect-dir.ts): what a container plants there is never
// followed out of /out. A symlink to a host file or folder is listed as skipped ("not followed")
// and nothing is read through it; the folder itself must be a real folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectOutFromFolder } from '../../activities/collect/collect-dir.js';
import { OutUploader } from '../../activities/collect/out-uploader.js';
import type { ArtifactStore } from '../../activities/store/artifact-store.js';

const BASE = 'p/action-1';
const SECRET = 'host secret, never to be uploaded';
let dir: string;
let out: string;
let hostDir: string;

/** Keeps what is uploaded in memory, by path in /out. */
class Store {
  readonly objects = new Map<string, string>();
  async put(key: string, body: Buffer | string): Promise<void> {
    this.objects.set(key.slice(`${BASE}/out/`.length), Buffer.from(body).toString());
  }
  async upload(key: string, body: Readable): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.objects.set(key.slice(`${BASE}/out/`.length), Buffer.concat(chunks).toString());
  }
  uri(key: string): string {
    return `s3://bucket/${key}`;
  }
}

async function collect(folder: string) {
  const store = new Store();
  const listing = await collectOutFromFolder(
    folder,
    new OutUploader(store as unknown as ArtifactStore, BASE, () => {}),
  );
  return { store, listing, why: (path: string) => listing.skipped.find((s) => s.path === path)?.why };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-collect-'));
  out = join(dir, 'mnt', 'out');
  hostDir = join(dir, 'host');
  mkdirSync(out, { recursive: true });
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'shadow'), SECRET);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('collectOutFromFolder', () => {
  it('skips a symlink to a host file, and one to a host folder, reading nothing through them', async () => {
    writeFileSync(join(out, 'result.txt'), 'ok');
    symlinkSync(join(hostDir, 'shadow'), join(out, 'shadow'));
    symlinkSync('../../host/shadow', join(out, 'relative'));
    symlinkSync(hostDir, join(out, 'hostdir'));
    mkdirSync(join(out, 'sub'));
    symlinkSync('/', join(out, 'sub', 'root'));
    const { store, listing, why } = await collect(out);
    expect([...store.objects.keys()]).toEqual(['result.txt']);
    expect([...store.objects.values()].some((v) => v.includes(SECRET))).toBe(false);
    expect(why('shadow')).toBe(`symlink (to ${join(hostDir, 'shadow')}) not followed`);
    expect(why('relative')).toBe('symlink (to ../../host/shadow) not followed');
    expect(why('hostdir')).toBe(`symlink (to ${hostDir}) not followed`);
    expect(why('sub/root')).toBe('symlink (to /) not followed');
    expect(listing.skipped.some((s) => s.path.startsWith('hostdir/'))).toBe(false);
  });

  it('stores names with spaces, and skips one with a newline (S3 refuses control characters)', async () => {
    writeFileSync(join(out, 'a b.txt'), 'spaced');
    writeFileSync(join(out, 'new\nline'), 'x');
    const { store, why } = await collect(out);
    expect(store.objects.get('a b.txt')).toBe('spaced');
    expect(why('new\\x0aline')).toMatch(/control character/);
  });

  it('refuses a root that is a symlink: /out is not read through it', async () => {
    symlinkSync(hostDir, join(dir, 'mnt', 'out-link'));
    await expect(collect(join(dir, 'mnt', 'out-link'))).rejects.toThrow(/is not a folder \(a symlink\)/);
  });
});
