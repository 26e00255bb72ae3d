// Parsers for the human-friendly quantities of an action spec. Each returns a number or an error
// message that tells the user what to write instead; zod turns those into field-level issues.

export type Parsed = { ok: true; value: number } | { ok: false; message: string };

const ok = (value: number): Parsed => ({ ok: true, value });
const fail = (message: string): Parsed => ({ ok: false, message });

/** No quantity needs more characters; a longer one is refused before any pattern looks at it. */
export const MAX_QUANTITY_CHARS = 32;

/** The text of a quantity, or why it is refused: too long to be one, or not a finite number. */
function quantityText(input: number | string): { text: string } | { message: string } {
  if (typeof input === 'number' && !Number.isFinite(input)) return { message: `${input} is not a finite number` };
  const text = String(input).trim();
  if (text.length > MAX_QUANTITY_CHARS)
    return { message: `a ${text.length}-character quantity is not one: at most ${MAX_QUANTITY_CHARS} characters` };
  return { text };
}

/** Docker refuses less than a hundredth of a core. */
const MIN_CPU = 0.01;
/** The longest deadline an action may ask for. */
const MAX_TIMEOUT_MS = 7 * 86_400_000;

/** CPU cores: 2, "0.5", or Kubernetes millicores "500m". */
export function parseCpu(input: number | string): Parsed {
  const checked = quantityText(input);
  if ('message' in checked) return fail(checked.message);
  const { text } = checked;
  const milli = /^(\d+)m$/.exec(text);
  const cores = milli ? Number(milli[1]) / 1000 : /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(cores))
    return fail(`"${text}" is not a CPU amount: use cores (2, "0.5") or millicores ("500m")`);
  if (cores < MIN_CPU)
    return fail(`CPU must be at least ${MIN_CPU} cores ("10m"; the engine refuses less), got "${text}"`);
  return ok(cores);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Bytes: 1073741824, "256Mi", "4Gi", "2G". A lowercase "m" is refused: it means milli, not mega. */
export function parseBytes(input: number | string): Parsed {
  const checked = quantityText(input);
  if ('message' in checked) return fail(checked.message);
  const { text } = checked;
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  if (!match) return fail(`"${text}" is not a size: use bytes or a unit such as "256Mi", "4Gi", "2G"`);
  const [, amount, unit = ''] = match;
  if (unit === 'm')
    return fail(`"${text}": lowercase "m" means milli, not mega; write "${amount}Mi" (or "${amount}M")`);
  const factor = BYTE_UNITS[unit];
  if (factor === undefined) {
    return fail(`"${text}": unknown unit "${unit}"; use one of Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T`);
  }
  const bytes = Math.round(Number(amount) * factor);
  if (bytes < 1) return fail(`"${text}" is zero; give a positive size`);
  if (!Number.isSafeInteger(bytes)) return fail(`"${text}" is more bytes than any host has`);
  return ok(bytes);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from "30s", "2h", "1h30m", "250ms", or a number of seconds. */
export function parseDuration(input: number | string): Parsed {
  const checked = quantityText(input);
  if ('message' in checked) return fail(checked.message);
  if (typeof input === 'number') return positiveMs(input * 1000, String(input));
  const { text } = checked;
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text));
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(part)) {
    if (match.index !== consumed) break;
    total += Number(match[1]) * DURATION_UNITS[match[2] as string]!;
    consumed += match[0].length;
  }
  if (consumed !== text.length || consumed === 0) {
    return fail(`"${text}" is not a duration: use e.g. "30s", "10m", "2h", "1h30m"`);
  }
  return positiveMs(total, `"${text}"`);
}

/** Whole milliseconds, at least one, at most MAX_TIMEOUT_MS. */
function positiveMs(ms: number, shown: string): Parsed {
  const rounded = Math.round(ms);
  if (!(rounded >= 1)) return fail(`${shown} is less than a millisecond; give a positive duration such as "30s"`);
  if (rounded > MAX_TIMEOUT_MS) return fail(`${shown} is longer than the longest deadline, 7 days`);
  return ok(rounded);
}

/** "1h 2m 3s"-style text for messages and tables. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 100) / 10;
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('') || '0s';
}

/** Bytes as a quantity a spec accepts back: "512Mi", "2Gi", or plain bytes when not a whole unit. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
