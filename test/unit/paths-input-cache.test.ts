// The host's input cache (input-cache.ts) on a real folder: its entries are single names of its own
// folder, a link where an entry or a destination should be is never followed, and odd names left
// in the folder do not stop eviction.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { download, InputCache } from '../../activities/inputs/input-cache.js';

let dir: string;
let gets: string[];
const s3 = {
  send: async (command: { input: { Key: string } }) => {
    gets.push(command.input.Key);
    return { Body: Readable.from([Buffer.alloc(100, command.input.Key)]) };
  },
} as unknown as S3Client;
const object = (key: string) => ({ bucket: 'b', key, etag: `"${key}"`, size: 100 });
const idOf = (key: string) => createHash('sha256').update(`b\0${key}\0"${key}"`).digest('hex');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-input-cache-'));
  gets = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('download', () => {
  it('never writes through a link at a destination, and leaves the other destinations unopened', async () => {
    const target = join(dir, 'host-file');
    writeFileSync(target, 'keep');
    symlinkSync(target, join(dir, 'link'));
    await expect(download(s3, object('a'), join(dir, 'fine'), join(dir, 'link'))).rejects.toMatchObject({
      code: 'ELOOP',
    });
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(gets).toEqual([]); // refused before the object was asked for
  });
});

describe('InputCache', () => {
  it('does not use a cached entry that is a link: it downloads again', async () => {
    const folder = join(dir, 'cache');
    mkdirSync(folder);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 's'.repeat(100));
    symlinkSync(secret, join(folder, idOf('a')));
    writeFileSync(join(folder, `${idOf('a')}.json`), JSON.stringify({ sha256: 'x', size: 100 }));
    const cache = new InputCache(s3, folder, 10_000);
    const got = await cache.fetchTo(object('a'), join(dir, 'dest'));
    expect(got.cached).toBe(false);
    expect(gets).toEqual(['a']);
    expect(readFileSync(join(dir, 'dest'), 'utf8')).toBe('a'.repeat(100));
  });

  it('copies a cached object over a link at the destination without following it', async () => {
    const cache = new InputCache(s3, join(dir, 'cache'), 10_000);
    await cache.fetchTo(object('a'), join(dir, 'first'));
    const target = join(dir, 'host-file');
    writeFileSync(target, 'keep');
    symlinkSync(target, join(dir, 'second'));
    expect((await cache.fetchTo(object('a'), join(dir, 'second'))).cached).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'second')).isFile()).toBe(true);
  });

  it('evicts past odd names in its folder (".json" alone, spaces, newlines) without leaving it', async () => {
    const folder = join(dir, 'cache');
    mkdirSync(folder);
    const old = new Date(Date.now() - 7_200_000);
    for (const name of ['.json', 'a b.json', 'n\nl.json', 'x.part-old']) {
      writeFileSync(join(folder, name), '{}');
      utimesSync(join(folder, name), old, old);
    }
    writeFileSync(join(folder, 'a b'), 'z'.repeat(150));
    const cache = new InputCache(s3, folder, 300);
    await cache.fetchTo(object('a'), join(dir, 'one'));
    await cache.fetchTo(object('b'), join(dir, 'two'));
    // "a b" (150 bytes, oldest) made room; the stale part went; the files beside the folder stayed.
    const left = readdirSync(folder).sort();
    expect(left).not.toContain('a b');
    expect(left).not.toContain('x.part-old');
    expect(left).toContain('.json');
    expect(readdirSync(dir).sort()).toEqual(['cache', 'one', 'two']);
  });
});
