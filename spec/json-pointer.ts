// JSON Pointers (RFC 6901): a sweep names the number it optimises in each child's output with one
// ("/loss", "/metrics/0/val"). Checked when the array is started, resolved in the workflow, so this
// module is pure.
import { z } from 'zod';
import { once } from './shared.js';

/** "" (the whole document) or "/"-separated tokens, "~" only as "~0" (~) or "~1" (/). */
const POINTER = /^(\/([^~/]|~[01])*)*$/;

export const JsonPointer = once('json-pointer/JsonPointer', () =>
  z
    .string()
    .max(1000, 'a JSON pointer is at most 1000 characters')
    .regex(POINTER, 'a JSON pointer (RFC 6901): "" or "/a/b", with "~" written "~0" and "/" in a name "~1"'),
);

/** The tokens of a pointer checked by `JsonPointer`, unescaped (~1 before ~0, as RFC 6901 says). */
function tokens(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** An array index token: "0" or digits without a leading zero. */
const INDEX = /^(0|[1-9][0-9]*)$/;

/** The value at `pointer` in `doc`, or undefined where the document has none. */
export function valueAt(doc: unknown, pointer: string): unknown {
  let at = doc;
  for (const token of tokens(pointer)) {
    if (Array.isArray(at)) {
      if (!INDEX.test(token)) return undefined;
      at = at[Number(token)];
    } else if (at !== null && typeof at === 'object' && Object.prototype.hasOwnProperty.call(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else return undefined;
  }
  return at;
}
