// Which object keys S3 can store, and how a name that cannot be stored is shown in the result.
// The rules are the strictest of the stores in use: a key is at most 1024 bytes of UTF-8; a store
// that keeps objects as files (MinIO) also refuses a part of the key that is ".", ".." or empty
// (it trims white space around a part first, so " .." and ". " are refused too) and a part longer
// than a file name may be (255 bytes). Control characters are refused as well: a file system
// refuses NUL, and S3's XML listings cannot carry the others unchanged.
// Pure: no I/O, so the same rules hold for the folder walk and the archive path alike.

/** An S3 object key is at most this many bytes of UTF-8. */
const KEY_BYTES = 1024;
/** A part of a key (between two "/") is at most this many bytes of UTF-8: a file name's limit. */
const KEY_PART_BYTES = 255;

// C0 controls, DEL, C1 controls, and the two noncharacters XML cannot hold.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');
// With the u flag a surrogate matches only when unpaired: a string that has no UTF-8 form.
const LONE_SURROGATE = /\p{Cs}/u;
// What the store trims around a part before comparing it with "." and "..": the union of
// JavaScript's white space and the store's (which also counts U+0085).
const SPACE_AROUND = /^[\s\u0085]+|[\s\u0085]+$/g;

const encoder = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** Why S3 would refuse `key` as an object key, in plain words; undefined when it would store it. */
export function s3KeyProblem(key: string): string | undefined {
  if (LONE_SURROGATE.test(key)) return 'name is not valid UTF-8';
  const control = CONTROL.exec(key);
  if (control) return `name contains a control character (${escapeChar(control[0])}), which S3 refuses`;
  if (utf8Bytes(key) > KEY_BYTES)
    return `key longer than ${KEY_BYTES} bytes (S3 limit), counting the action's folder before the path`;
  for (const part of key.split('/')) {
    const problem = keyPartProblem(part);
    if (problem) return problem;
  }
  return undefined;
}

function keyPartProblem(part: string): string | undefined {
  if (part === '') return 'empty name part ("//" or a "/" at an end), which S3 refuses';
  const bare = part.replace(SPACE_AROUND, '');
  if (bare === '.' || bare === '..')
    return `name part "${part}" is "." or ".." (also with spaces around), which S3 refuses`;
  if (utf8Bytes(part) > KEY_PART_BYTES) return `name part longer than ${KEY_PART_BYTES} bytes (S3 limit)`;
  return undefined;
}

/** The text of a file name read as bytes, or undefined when the bytes are not valid UTF-8. */
export function utf8Name(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A name given as bytes, shown as text: valid UTF-8 as it is, every other byte as \xNN. The
 * result is for people reading the result, never a key (a name holding "\xff" itself reads alike).
 */
export function shownBytes(bytes: Uint8Array): string {
  let shown = '';
  for (let i = 0; i < bytes.length;) {
    const size = sequenceSize(bytes[i]!);
    const text = size > 1 ? utf8Name(bytes.subarray(i, i + size)) : undefined;
    if (size === 1 && bytes[i]! < 0x80) {
      shown += String.fromCharCode(bytes[i]!);
      i += 1;
    } else if (text !== undefined) {
      shown += text;
      i += size;
    } else {
      shown += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return printable(shown);
}

/** How many bytes a UTF-8 sequence starting with `lead` takes; 1 for a byte that starts none. */
function sequenceSize(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  return 1;
}

/** Text with its control characters written as \xNN (or \u{…}): safe to print on a terminal. */
export function printable(text: string): string {
  return text.replace(CONTROLS, escapeChar);
}

function escapeChar(char: string): string {
  const code = char.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}
