// Secret values never leave the host in what a container prints: the log tails in heartbeats and
// results, the live log segments, logs/stdout.log and stderr.log, and `output`. A multi-line secret
// (a PEM key) is also found line by line, since a log is read and shown line by line. Besides the
// value itself, the forms a program commonly prints it in are masked too: JSON-escaped, URL-encoded
// and base64 (see printedForms).
//
// What it cannot catch, by construction: a secret the container transforms some other way (reversed,
// hashed, base64 wrapped across lines, hex), and in the live segments a secret split across two
// separate writes of the container.
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const MASK = '***';
/**
 * Shorter values would mask ordinary words; such a secret is not one worth the name, and the host
 * refuses to give one (secrets.ts), rather than hand out a value it cannot keep out of the output.
 */
export const MIN_SECRET = 4;
/** A line of a multi-line secret shorter than this ("-----", "") is not itself secret. */
const MIN_SECRET_LINE = 8;
/** A redacting stream holds at most this much of a line back, beyond its window, before it lets a piece go. */
const MAX_HELD_LINE = 64 << 10;

/** The texts a secret can appear as in output: the value, then each encoding that changes it. */
export function printedForms(value: string): string[] {
  return [...new Set([value, ...jsonForms(value), ...urlForms(value), ...base64Forms(value)])];
}

/**
 * Inside a JSON string: JSON.stringify's escaping (JavaScript, and Python and Go for most values),
 * Python's json.dumps default that writes every non-ASCII character as \uXXXX, and Go's
 * encoding/json default that also writes <, >, & and U+2028/9 that way. Both use lowercase hex.
 */
function jsonForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const unicode = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return [escaped, escaped.replace(/[\u007f-\uffff]/g, unicode), escaped.replace(/[<>&\u2028\u2029]/g, unicode)];
}

/**
 * Percent-encoded (uppercase hex, of the UTF-8 bytes), as the usual encoders leave characters
 * alone: encodeURIComponent; RFC 3986's unreserved set (Python's quote(safe='') and quote_plus,
 * Go's url.QueryEscape); the WHATWG form encoding (URLSearchParams, HTML forms). A space is %20 or +.
 */
const URL_KEEPS = [/[A-Za-z0-9\-_.!~*'()]/, /[A-Za-z0-9\-_.~]/, /[A-Za-z0-9*\-._]/];

function urlForms(value: string): string[] {
  const forms: string[] = [];
  for (const keep of URL_KEEPS) {
    const encoded = percentEncode(value, keep);
    forms.push(encoded, encoded.replace(/%20/g, '+'));
  }
  return forms;
}

function percentEncode(value: string, keep: RegExp): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && keep.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Base64, standard and URL-safe. Within a longer base64 text (`echo $TOKEN | base64` encodes the
 * newline after it; a JSON document or a Basic auth header holds it among other bytes) the secret
 * starts at one of three offsets in a 3-byte group, and only the characters made of its bits alone
 * are the same whatever surrounds it: for each offset those are masked. What stays at each edge is
 * at most one character holding 2 or 4 bits of the secret, nothing to recover it from. The
 * standalone encoding alone (with its padding) would miss all three. Every piece of a
 * secret of MIN_SECRET characters is 4 characters or more: a chance match in other base64 text is
 * one in 64^4 places, and one piece left unmasked would show 24 of a short secret's 32 bits.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = [bytes.toString('base64')];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character j holds bits 6j..6j+5 of the group; the secret's bits are 8·offset..8·(offset+n)-1.
    forms.push(encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6)));
  }
  return forms.flatMap((form) => [form, form.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]);
}

/** The lines of a multi-line secret that are secret themselves: a log is read line by line. */
function secretLines(value: string): string[] {
  if (!value.includes('\n')) return [];
  // PEM armour ("-----BEGIN PRIVATE KEY-----") says what the key is, not what it holds.
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SECRET_LINE && !/^-----[A-Z0-9 ]+-----$/.test(line));
}

export class Redactor {
  private readonly patterns: string[];

  constructor(values: readonly string[]) {
    const found = new Set<string>();
    for (const value of values) {
      if (value.length >= MIN_SECRET) for (const form of printedForms(value)) found.add(form);
      for (const line of secretLines(value)) found.add(line);
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
      if (held.length > MAX_HELD_LINE + keep) {
        // Every whole secret in it is masked now; one that is not whole yet can only be at the
        // end, within `keep` characters: those stay, to be seen again with what follows. An encoded
        // form can make `keep` longer than MAX_HELD_LINE, hence the piece let go is counted beyond
        // it; and masking shortens the text: a negative cut would let go of a secret's beginning.
        const masked = this.text(held);
        const cut = Math.max(0, masked.length - keep);
        out += masked.slice(0, cut);
        held = masked.slice(cut);
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
