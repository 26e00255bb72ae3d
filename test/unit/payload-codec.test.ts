// The payload codec: what it writes is ciphertext under the key's id, it reads back what it wrote,
// old keys still decrypt after a rotation, and payloads from before encryption pass through.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  AesGcmCodec,
  ENCRYPTED_ENCODING,
  codecKeysFromEnv,
  parseCodecKeys,
} from '../../common/connection/payload-codec.js';
import { loadWorkerConfig } from '../../worker/config.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const payload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const meta = (p: { metadata?: Record<string, Uint8Array> | null }, name: string) =>
  Buffer.from(p.metadata![name]!).toString();

describe('the AES-256-GCM codec', () => {
  it('writes ciphertext under its key id and reads back the same payload', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const plain = payload({ env: { TOKEN: 'plain-text-value' } });
    const [sealed] = await codec.encode([plain]);
    expect(meta(sealed!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed!, 'encryption-key-id')).toBe('k1');
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('plain-text-value');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ env: { TOKEN: 'plain-text-value' } });
  });

  it('decrypts with an older key after a rotation, and refuses a payload whose key it lacks', async () => {
    const old = key('old');
    const [sealed] = await new AesGcmCodec([old]).encode([payload('before the rotation')]);
    const rotated = new AesGcmCodec([key('new'), old]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([sealed!]))[0]!)).toBe('before the rotation');
    await expect(new AesGcmCodec([key('other')]).decode([sealed!])).rejects.toThrow(
      /key "old", which this process does not have/,
    );
  });

  it('lets a payload that was never encrypted pass, and detects tampering', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const plain = payload('from before encryption');
    expect(await codec.decode([plain])).toEqual([plain]);
    const [sealed] = await codec.encode([payload('x')]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow();
  });
});

describe('CAISSON_CODEC_KEYS', () => {
  it('lists "id:base64key" pairs, the first one encrypting; a wrong length or a bad id is refused', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    expect(parseCodecKeys(`2026-11:${a}, 2026-05:${b}`).map((k) => k.id)).toEqual(['2026-11', '2026-05']);
    expect(parseCodecKeys(undefined)).toEqual([]);
    expect(() => parseCodecKeys(`k:${randomBytes(16).toString('base64')}`)).toThrow(/16 bytes; AES-256 needs 32/);
    expect(() => parseCodecKeys(`:${a}`)).toThrow(/item 1/);
  });
});

describe('CAISSON_CODEC_KEYS_FILE', () => {
  it('holds the pairs one per line (a mounted secret); the variable itself wins; a missing or empty file is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-codec-keys-'));
    try {
      const a = `new:${randomBytes(32).toString('base64')}`;
      const b = `old:${randomBytes(32).toString('base64')}`;
      const file = join(dir, 'keys');
      writeFileSync(file, `${a}\n${b}\n`);
      expect(codecKeysFromEnv({ CAISSON_CODEC_KEYS_FILE: file })).toBe(`${a},${b}`);
      expect(parseCodecKeys(codecKeysFromEnv({ CAISSON_CODEC_KEYS_FILE: file })).map((k) => k.id)).toEqual([
        'new',
        'old',
      ]);
      expect(codecKeysFromEnv({ CAISSON_CODEC_KEYS: b, CAISSON_CODEC_KEYS_FILE: file })).toBe(b);
      expect(codecKeysFromEnv({})).toBeUndefined();
      expect(() => codecKeysFromEnv({ CAISSON_CODEC_KEYS_FILE: join(dir, 'absent') })).toThrow(
        /CAISSON_CODEC_KEYS_FILE .*absent cannot be read/,
      );
      writeFileSync(join(dir, 'empty'), '\n');
      expect(() => codecKeysFromEnv({ CAISSON_CODEC_KEYS_FILE: join(dir, 'empty') })).toThrow(/holds no key/);
      // The worker takes the file too, and stops at start on one it cannot use.
      expect(
        loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'b-1', CAISSON_CODEC_KEYS_FILE: file }).CAISSON_CODEC_KEYS,
      ).toBe(`${a},${b}`);
      writeFileSync(join(dir, 'short'), `k:${randomBytes(16).toString('base64')}`);
      expect(() =>
        loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'b-1', CAISSON_CODEC_KEYS_FILE: join(dir, 'short') }),
      ).toThrow(/CAISSON_CODEC_KEYS: .*16 bytes/);
      expect(() =>
        loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'b-1', CAISSON_CODEC_KEYS_FILE: join(dir, 'absent') }),
      ).toThrow(/CAISSON_CODEC_KEYS_FILE: .*cannot be read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
