// Collecting /out from a hostile file tree: names S3 cannot store, names that are not UTF-8, many
// symlinks with long targets, hard links. Runs on a real temporary folder (the folder walk) and on
// a tar built byte by byte (the engine's archive path), against an in-memory store that refuses
// what a real one refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { s3KeyProblem, shownBytes } from '../../activities/store/s3-key.js';
import {
  clip,
  folderWhy,
  hardLinkWhy,
  LISTED_SKIPPED,
  OutUploader,
  SKIPPED_TEXT,
  type Listing,
} from '../../activities/collect/out-uploader.js';
import { collectOutFromFolder } from '../../activities/collect/collect-dir.js';
import { collectOutFromTar } from '../../activities/collect/collect.js';
import type { ArtifactStore } from '../../activities/store/artifact-store.js';

const BASE = 'prefix/action-1';

/** Stands in for the ArtifactStore: keeps objects in memory and refuses keys as MinIO does. */
class MemoryStore {
  readonly objects = new Map<string, Buffer>();
  readonly writes: { key: string; how: 'put' | 'upload' }[] = [];

  async put(key: string, body: Buffer | string): Promise<void> {
    this.keep(key, Buffer.from(body), 'put');
  }

  async upload(key: string, body: Readable): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.keep(key, Buffer.concat(chunks), 'upload');
  }

  uri(key: string): string {
    return `s3://test-bucket/${key}`;
  }

  /** Objects under /out by their path there. */
  out(): Map<string, Buffer> {
    const prefix = `${BASE}/out/`;
    return new Map([...this.objects].map(([key, bytes]) => [key.slice(prefix.length), bytes]));
  }

  private keep(key: string, bytes: Buffer, how: 'put' | 'upload'): void {
    // Written independently of s3KeyProblem: a name the collector let through fails here, as the
    // real store would fail it (and with it the whole collection).
    const parts = key.split('/');
    const bad =
      Buffer.byteLength(key) > 1024 ||
      /[\u0000-\u001f]/.test(key) ||
      parts.some((p) => p === '' || p.trim() === '.' || p.trim() === '..' || Buffer.byteLength(p) > 255);
    if (bad) throw new Error(`XMinioInvalidObjectName: ${JSON.stringify(key)}`);
    this.writes.push({ key, how });
    this.objects.set(key, bytes);
  }
}

function uploader(store: MemoryStore): OutUploader {
  return new OutUploader(store as unknown as ArtifactStore, BASE, () => {});
}

function whyOf(listing: Listing, path: string): string | undefined {
  return listing.skipped.find((s) => s.path === path)?.why;
}

describe('s3KeyProblem', () => {
  const key = (path: string) => `${BASE}/out/${path}`;

  it('refuses "." and ".." parts, also with spaces around them', () => {
    for (const path of [' ..', '. ', '..', '.', 'a/../b', 'a/ . /b', '\u00a0..\u00a0']) {
      expect(s3KeyProblem(key(path)), JSON.stringify(path)).toMatch(/"\." or "\.\."/);
    }
  });

  it('refuses empty parts', () => {
    expect(s3KeyProblem(key('a//b'))).toMatch(/empty name part/);
    expect(s3KeyProblem(key('a/'))).toMatch(/empty name part/);
  });

  it('counts a part in UTF-8 bytes, up to 255', () => {
    // 128 characters but 256 bytes: a limit counted in characters would let it through.
    expect(s3KeyProblem(key('é'.repeat(128)))).toBe('name part longer than 255 bytes (S3 limit)');
    expect(s3KeyProblem(key('x'.repeat(256)))).toBe('name part longer than 255 bytes (S3 limit)');
    expect(s3KeyProblem(key('é'.repeat(127) + 'x'))).toBeUndefined();
  });

  it('counts the whole key in UTF-8 bytes, up to 1024', () => {
    // Parts of 99 bytes, the last one 1 to 100: only the whole length can be wrong.
    const exactly = (bytes: number) => {
      let key = `${BASE}/out/`;
      while (key.length + 100 < bytes) key += `${'a'.repeat(99)}/`;
      key += 'b'.repeat(bytes - key.length);
      expect(Buffer.byteLength(key)).toBe(bytes);
      return key;
    };
    expect(s3KeyProblem(exactly(1024))).toBeUndefined();
    expect(s3KeyProblem(exactly(1025))).toMatch(/longer than 1024 bytes \(S3 limit\)/);
  });

  it('refuses control characters and text without a UTF-8 form', () => {
    expect(s3KeyProblem(key('a\u0000b'))).toMatch(/control character \(\\x00\)/);
    expect(s3KeyProblem(key('new\nline'))).toMatch(/control character \(\\x0a\)/);
    expect(s3KeyProblem(key('del\u007f'))).toMatch(/control character/);
    expect(s3KeyProblem(key('nel\u0085'))).toMatch(/control character/);
    expect(s3KeyProblem(key('half \ud800 pair'))).toBe('name is not valid UTF-8');
  });

  it('lets ordinary names through, with spaces, dots and any script', () => {
    for (const path of [
      'my file.txt',
      '..hidden',
      '...',
      'a.',
      '. a',
      'ünïcødé/日本語.txt',
      'emoji 😀.png',
      'deep/er/still.json',
      'f\ufffd',
    ]) {
      expect(s3KeyProblem(key(path)), path).toBeUndefined();
    }
  });
});

describe('shownBytes and clip', () => {
  it('shows bytes that are not UTF-8 and control characters escaped, the rest as it is', () => {
    expect(shownBytes(Buffer.from([0x66, 0xff]))).toBe('f\\xff');
    expect(shownBytes(Buffer.concat([Buffer.from('é/'), Buffer.from([0xc3]), Buffer.from('\x07')]))).toBe(
      'é/\\xc3\\x07',
    );
    expect(shownBytes(Buffer.from('日本 😀'))).toBe('日本 😀');
  });

  it('cuts long text with "…" and never inside a surrogate pair', () => {
    expect(clip('x'.repeat(4000), 300)).toHaveLength(300);
    expect(clip('x'.repeat(4000), 300).endsWith('…')).toBe(true);
    expect(clip('short', 300)).toBe('short');
    const cut = clip('x'.repeat(298) + '😀😀', 300);
    expect(cut).toBe('x'.repeat(298) + '…');
  });
});

describe('OutUploader listing of skipped entries', () => {
  it('lists at most LISTED_SKIPPED, cut short, and counts them all', async () => {
    const out = uploader(new MemoryStore());
    // The worst case: 20,000 symlinks with 4 KB targets.
    for (let i = 0; i < 20_000; i++)
      out.skip(`link-${i}-${'p'.repeat(4000)}`, `symlink (to ${'t'.repeat(4000)}) not followed`);
    const listing = await out.finish();
    expect(LISTED_SKIPPED).toBe(100);
    expect(listing.skipped).toHaveLength(100);
    expect(listing.skippedTotal).toBe(20_000);
    expect(listing.skipped.every((s) => s.path.length <= SKIPPED_TEXT && s.why.length <= SKIPPED_TEXT)).toBe(true);
    expect(JSON.stringify(listing).length).toBeLessThan(100 * 2 * (SKIPPED_TEXT + 40));
  });
});

describe('collectOutFromFolder on a hostile tree', () => {
  let root: string;
  let store: MemoryStore;
  let listing: Listing;
  const shared = Buffer.from('content with five names');
  const sparse = 2 << 20;
  const d255 = (c: string) => c.repeat(255);
  const longDir = `long/${d255('d')}/${d255('e')}/${d255('f')}`;
  const at = (path: string | Buffer) =>
    typeof path === 'string' ? join(root, path) : Buffer.concat([Buffer.from(`${root}/`), path]);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'out-collect-'));
    // Fine names.
    writeFileSync(at('a.txt'), 'A');
    writeFileSync(at('my file.txt'), 'spaces inside');
    writeFileSync(at('..hidden'), 'dots first');
    mkdirSync(at('sub/deep'), { recursive: true });
    writeFileSync(at('sub/deep/ok.txt'), 'deep');
    writeFileSync(at('ünï.txt'), 'unicode');
    writeFileSync(at('f\ufffd'), 'a real U+FFFD');
    // 2 MiB with no block written: a real file, streamed rather than read whole.
    writeFileSync(at('sparse.bin'), '');
    truncateSync(at('sparse.bin'), sparse);
    // Names S3 cannot store.
    writeFileSync(at(' ..'), 'x');
    writeFileSync(at('. '), 'x');
    writeFileSync(at('bell\x07.txt'), 'x');
    writeFileSync(at('new\nline.txt'), 'x');
    // Not UTF-8: a file, and a folder with a file in it.
    writeFileSync(at(Buffer.from([0x66, 0xff])), 'bytes');
    mkdirSync(at(Buffer.from([0x64, 0x69, 0x72, 0xfe])));
    writeFileSync(at(Buffer.concat([Buffer.from([0x64, 0x69, 0x72, 0xfe]), Buffer.from('/inside.txt')])), 'x');
    // Folders whose names fit, until the key grows past 1024 bytes.
    mkdirSync(at(`${longDir}/${d255('g')}`), { recursive: true });
    writeFileSync(at(`long/${d255('d')}/ok.txt`), 'fits');
    writeFileSync(at(`${longDir}/${d255('g')}/x`), 'too deep for a key');
    // One file, five names; and a pair whose first name is refused.
    mkdirSync(at('hard'));
    writeFileSync(at('hard/original.bin'), shared);
    for (const n of [1, 2, 3, 4]) linkSync(at('hard/original.bin'), at(`hard/link${n}`));
    mkdirSync(at('hl'));
    writeFileSync(at('hl/ctrl\x01'), 'pair');
    linkSync(at('hl/ctrl\x01'), at('hl/z-good'));
    // 150 symlinks with 4000-character targets, sorted after everything else.
    mkdirSync(at('zz-links'));
    for (let i = 0; i < 150; i++)
      symlinkSync(`/${'t'.repeat(3999)}`, at(`zz-links/link-${String(i).padStart(3, '0')}`));

    store = new MemoryStore();
    listing = await collectOutFromFolder(root, uploader(store));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('stores every good file exactly once, with its content', () => {
    const stored = store.out();
    expect([...stored.keys()].sort()).toEqual(
      [
        '..hidden',
        'a.txt',
        'f\ufffd',
        'hard/link1',
        'hl/z-good',
        `long/${d255('d')}/ok.txt`,
        'my file.txt',
        'sparse.bin',
        'sub/deep/ok.txt',
        'ünï.txt',
      ].sort(),
    );
    expect(store.writes).toHaveLength(stored.size);
    expect(stored.get('f\ufffd')?.toString()).toBe('a real U+FFFD');
    expect(stored.get('hl/z-good')?.toString()).toBe('pair');
    expect(listing.totals.files).toBe(10);
  });

  it('streams the sparse file at its full size', () => {
    expect(store.out().get('sparse.bin')?.length).toBe(sparse);
    expect(store.writes.find((w) => w.key.endsWith('/sparse.bin'))?.how).toBe('upload');
  });

  it('skips names S3 cannot store, with the reason', () => {
    expect(whyOf(listing, ' ..')).toMatch(/"\." or "\.\."/);
    expect(whyOf(listing, '. ')).toMatch(/"\." or "\.\."/);
    expect(whyOf(listing, 'bell\\x07.txt')).toMatch(/control character \(\\x07\)/);
    expect(whyOf(listing, 'new\\x0aline.txt')).toMatch(/control character \(\\x0a\)/);
    expect(whyOf(listing, clip(`${longDir}/${d255('g')}`, SKIPPED_TEXT))).toMatch(
      /longer than 1024 bytes.*a folder: nothing in it is stored/,
    );
  });

  it('skips names that are not UTF-8, shown with their bytes escaped, without touching look-alikes', () => {
    expect(whyOf(listing, 'f\\xff')).toBe('name is not valid UTF-8');
    expect(whyOf(listing, 'dir\\xfe')).toBe(folderWhy('name is not valid UTF-8'));
    expect(store.out().get('f\ufffd')?.toString()).toBe('a real U+FFFD');
  });

  it('stores hard-linked content once and lists the other names as skipped, naming the stored one', () => {
    const copies = [...store.objects.values()].filter((bytes) => bytes.equals(shared));
    expect(copies).toHaveLength(1);
    for (const name of ['hard/link2', 'hard/link3', 'hard/link4', 'hard/original.bin'])
      expect(whyOf(listing, name)).toBe(hardLinkWhy('hard/link1'));
    // The first name was refused: the next one carries the content.
    expect(whyOf(listing, 'hl/ctrl\\x01')).toMatch(/control character/);
  });

  it('lists 100 skipped entries, cut short, and counts all of them', () => {
    // 4 refused names, 2 not UTF-8, 1 folder too deep, 4 hard links, 1 refused first name, 150 symlinks.
    expect(listing.skippedTotal).toBe(4 + 2 + 1 + 4 + 1 + 150);
    expect(listing.skipped).toHaveLength(LISTED_SKIPPED);
    const symlinks = listing.skipped.filter((s) => s.path.startsWith('zz-links/'));
    expect(symlinks).toHaveLength(LISTED_SKIPPED - 12);
    for (const s of symlinks) {
      expect(s.why.startsWith('symlink (to /ttt')).toBe(true);
      expect(s.why.length).toBeLessThanOrEqual(SKIPPED_TEXT);
      expect(s.why.endsWith('…')).toBe(true);
    }
  });
});

// ---- A tar as the engine writes it, byte by byte ---------------------------------------------

interface TarEntry {
  name: Buffer | string;
  type: 'file' | 'dir' | 'link' | 'symlink';
  data?: string;
  linkname?: Buffer | string;
  /** PAX records (as the engine writes for long or non-ASCII names), raw bytes allowed. */
  pax?: Record<string, Buffer | string>;
}

const TYPE_FLAG = { file: '0', link: '1', symlink: '2', dir: '5' } as const;

function block(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}

function header(name: Buffer, flag: string, size: number, linkname = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(512);
  name.subarray(0, 100).copy(b, 0);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(flag, 156);
  linkname.subarray(0, 100).copy(b, 157);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const records = Buffer.concat(Object.entries(e.pax).map(([k, v]) => paxRecord(k, v)));
      parts.push(header(Buffer.from('PaxHeader'), 'x', records.length), block(records));
    }
    const data = Buffer.from(e.data ?? '');
    parts.push(header(Buffer.from(e.name), TYPE_FLAG[e.type], data.length, Buffer.from(e.linkname ?? '')));
    if (data.length) parts.push(block(data));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

describe('collectOutFromTar on a hostile archive', () => {
  const longName = `out/${'lång/'.repeat(30)}end.txt`;
  const target = `/${'t'.repeat(3999)}`;
  let store: MemoryStore;
  let listing: Listing;

  beforeAll(async () => {
    const archive = tar([
      { name: 'out/', type: 'dir' },
      { name: 'out/ ..', type: 'file', data: 'x' },
      { name: 'out/a.txt', type: 'file', data: 'A' },
      // Refused folder: what is under it is left out, as the folder walk never enters it.
      { name: 'out/bad\x01/', type: 'dir' },
      { name: 'out/bad\x01/inside.txt', type: 'file', data: 'x' },
      { name: 'out/ctrl\x02', type: 'file', data: 'first name refused' },
      // Raw UTF-8 in the header block: decoded from the bytes, not taken one char a byte.
      { name: Buffer.from('out/é.txt'), type: 'file', data: 'accent' },
      // Not UTF-8, in a PAX record (how the engine writes any name that is not ASCII) and in the header.
      { name: 'out/PAX', type: 'file', data: 'x', pax: { path: Buffer.from([...Buffer.from('out/f'), 0xff]) } },
      { name: Buffer.from([...Buffer.from('out/g'), 0xfe]), type: 'file', data: 'x' },
      // A long name, only in PAX: it must come out whole.
      { name: 'out/truncated', type: 'file', data: 'long', pax: { path: longName } },
      { name: 'out/ok-link', type: 'link', linkname: 'out/ctrl\x02' },
      { name: 'out/orig', type: 'file', data: 'shared' },
      { name: 'out/twin', type: 'link', linkname: 'out/orig' },
      { name: 'out/sym', type: 'symlink', linkname: 'x', pax: { linkpath: target } },
    ]);
    store = new MemoryStore();
    listing = await collectOutFromTar(Readable.from([archive]), uploader(store));
  });

  it('stores every good file once, long and non-ASCII names whole', () => {
    expect([...store.out().keys()].sort()).toEqual(['a.txt', 'orig', longName.slice(4), 'é.txt'].sort());
    expect(store.out().get('é.txt')?.toString()).toBe('accent');
    expect(store.writes).toHaveLength(4);
  });

  it('skips what the folder walk skips, for the same reasons', () => {
    expect(whyOf(listing, ' ..')).toMatch(/"\." or "\.\."/);
    expect(whyOf(listing, 'bad\\x01')).toMatch(/control character.*a folder: nothing in it is stored/);
    expect(whyOf(listing, 'g\\xfe')).toBe('name is not valid UTF-8');
    expect(whyOf(listing, 'f\ufffd')).toBe('name is not valid UTF-8');
    expect(whyOf(listing, 'twin')).toBe(hardLinkWhy('orig'));
    expect(whyOf(listing, 'ok-link')).toMatch(
      /^hard link of ctrl\\x02, which was not stored \(name contains a control character/,
    );
    const sym = whyOf(listing, 'sym') ?? '';
    expect(sym.startsWith('symlink (to /ttt')).toBe(true);
    expect(sym.length).toBeLessThanOrEqual(SKIPPED_TEXT);
    expect(listing.skipped.some((s) => s.path.includes('inside.txt'))).toBe(false);
    expect(listing.skippedTotal).toBe(8);
  });
});
