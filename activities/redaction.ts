// Secret values never leave the host in what a container prints: the log tails in heartbeats and
// results, the live log segments, logs/stdout.log and stderr.log, and `output`. A multi-line secret
// (a PEM key) is also found line by line, since a log is read and shown line by line.
//
// What it cannot catch, by construction: a secret the container transforms (base64, reversed), and
// in the live segments a secret split across two separate writes of the container.
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const MASK = '***';
/** Shorter values would mask ordinary words; such a secret is not one worth the name. */
const MIN_SECRET = 4;
/** A line of a multi-line secret shorter than this ("-----", "") is not itself secret. */
const MIN_SECRET_LINE = 8;
/** A redacting stream holds at most this much of a line back before it lets a piece go. */
const MAX_HELD_LINE = 64 << 10;

export class Redactor {
  private readonly patterns: string[];

  constructor(values: readonly string[]) {
    const found = new Set<string>();
    for (const value of values) {
      if (value.length >= MIN_SECRET) found.add(value);
      if (!value.includes('\n')) continue;
      for (const line of value.split(/\r?\n/)) {
        const trimmed = line.trim();
        // PEM armour ("-----BEGIN PRIVATE KEY-----") says what the key is, not what it holds.
        if (trimmed.length >= MIN_SECRET_LINE && !/^-----[A-Z0-9 ]+-----$/.test(trimmed)) found.add(trimmed);
      }
    }
    // Longest first: a value that contains another is masked whole.
    this.patterns = [...found].sort((a, b) => b.length - a.length);
  }

  /** Whether there is anything to redact: without secrets, logs pass byte for byte. */
  get active(): boolean {
    return this.patterns.length > 0;
  }

  /** The longest text a secret can take: how much a stream must keep to see one whole. */
  get window(): number {
    return this.patterns[0]?.length ?? 0;
  }

  text(text: string): string {
    let out = text;
    for (const pattern of this.patterns) if (out.includes(pattern)) out = out.split(pattern).join(MASK);
    return out;
  }

  bytes(data: Buffer): Buffer {
    if (!this.active) return data;
    const text = data.toString('utf8');
    const masked = this.text(text);
    return masked === text ? data : Buffer.from(masked, 'utf8');
  }

  /**
   * A stream that redacts line by line: complete lines go out masked; a line longer than 64 KiB
   * goes out in pieces, keeping back enough of its end that a secret across the cut is still seen.
   */
  stream(): Transform {
    const decoder = new StringDecoder('utf8');
    const keep = Math.max(0, this.window - 1);
    let held = '';
    const take = (final: boolean): string => {
      if (final) {
        const out = this.text(held);
        held = '';
        return out;
      }
      let out = '';
      const newline = held.lastIndexOf('\n');
      if (newline >= 0) {
        out = this.text(held.slice(0, newline + 1));
        held = held.slice(newline + 1);
      }
      if (held.length > MAX_HELD_LINE) {
        // Every whole secret in it is masked now; one that is not whole yet can only be at the
        // end, within `keep` characters: those stay, to be seen again with what follows.
        const masked = this.text(held);
        out += masked.slice(0, masked.length - keep);
        held = masked.slice(masked.length - keep);
      }
      return out;
    };
    const chunk = (text: string) => (text ? Buffer.from(text, 'utf8') : undefined);
    return new Transform({
      transform: (data: Buffer, _encoding, done: TransformCallback) => {
        held += decoder.write(data);
        done(null, chunk(take(false)));
      },
      flush: (done: TransformCallback) => {
        held += decoder.end();
        done(null, chunk(take(true)));
      },
    });
  }
}
