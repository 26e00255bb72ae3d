// Payloads encrypted before they reach Temporal: the spec (env, input), queries, results and
// heartbeats are ciphertext in history and to anyone reading it without a key, and so are failures'
// messages and stack traces, which common/connection/failure-converter.cts moves into a payload. AES-256-GCM, a fresh
// 12-byte nonce per payload, the key's id in the payload's metadata. Keys rotate: the first key
// encrypts, every listed key decrypts, and a payload that was never encrypted passes through (runs
// started before encryption was turned on keep working). Search attributes are not payloads: they
// stay readable (ActionStatus, ActionImage, ActionExitCode, ActionHost, ActionSource).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

// The package is CommonJS: its namespaces come through the default export.
const { temporal } = proto;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  key: Buffer;
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly CodecKey[]) {
    if (!keys.length) throw new Error('an encryption codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(id) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const id = text(payload.metadata?.[KEY_ID]) ?? '';
      const key = this.byId.get(id);
      if (!key)
        throw new Error(
          `a payload is encrypted with key "${id}", which this process does not have (CAISSON_CODEC_KEYS)`,
        );
      const sealed = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/**
 * Keys from CAISSON_CODEC_KEYS: "id:base64key" pairs, comma-separated, the first one encrypting;
 * each key 32 bytes (`head -c 32 /dev/urandom | base64`). Unset: no encryption.
 */
export function parseCodecKeys(value: string | undefined): CodecKey[] {
  if (!value?.trim()) return [];
  return value.split(',').map((pair, i) => {
    const colon = pair.indexOf(':');
    const id = pair.slice(0, colon).trim();
    const key = Buffer.from(pair.slice(colon + 1).trim(), 'base64');
    if (colon <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new Error(`CAISSON_CODEC_KEYS item ${i + 1}: "id:base64key" with an id of letters, digits, ".", "_", "-"`);
    if (key.length !== 32)
      throw new Error(
        `CAISSON_CODEC_KEYS key "${id}": ${key.length} bytes; AES-256 needs 32 (head -c 32 /dev/urandom | base64)`,
      );
    return { id, key };
  });
}

/**
 * The keys' text: CAISSON_CODEC_KEYS itself, or else the file CAISSON_CODEC_KEYS_FILE names (a
 * mounted secret; pairs separated by commas or lines). Neither set: undefined, no encryption.
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CAISSON_CODEC_KEYS) return env.CAISSON_CODEC_KEYS;
  const file = env.CAISSON_CODEC_KEYS_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`CAISSON_CODEC_KEYS_FILE ${file} cannot be read: ${(err as Error).message}`);
  }
  const pairs = text.split(/[\s,]+/).filter(Boolean);
  if (!pairs.length) throw new Error(`CAISSON_CODEC_KEYS_FILE ${file} holds no key`);
  return pairs.join(',');
}
