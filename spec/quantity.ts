// Parsers for the human-friendly quantities of an action spec. Each returns a number or an error
// message that tells the user what to write instead; zod turns those into field-level issues.

export type Parsed = { ok: true; value: number } | { ok: false; message: string };

const ok = (value: number): Parsed => ({ ok: true, value });
const fail = (message: string): Parsed => ({ ok: false, message });

/** CPU cores: 2, "0.5", or Kubernetes millicores "500m". */
export function parseCpu(input: number | string): Parsed {
  const text = String(input).trim();
  const milli = /^(\d+)m$/.exec(text);
  const cores = milli ? Number(milli[1]) / 1000 : /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(cores)) return fail(`"${text}" is not a CPU amount: use cores (2, "0.5") or millicores ("500m")`);
  if (cores < 0.001) return fail(`CPU must be at least 1 millicore ("1m"), got "${text}"`);
  return ok(cores);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
};

/** Bytes: 1073741824, "256Mi", "4Gi", "2G". A lowercase "m" is refused: it means milli, not mega. */
export function parseBytes(input: number | string): Parsed {
  const text = String(input).trim();
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  if (!match) return fail(`"${text}" is not a size: use bytes or a unit such as "256Mi", "4Gi", "2G"`);
  const [, amount, unit = ''] = match;
  if (unit === 'm') return fail(`"${text}": lowercase "m" means milli, not mega; write "${amount}Mi" (or "${amount}M")`);
  const factor = BYTE_UNITS[unit];
  if (factor === undefined) {
    return fail(`"${text}": unknown unit "${unit}"; use one of Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T`);
  }
  const bytes = Math.round(Number(amount) * factor);
  if (bytes < 1) return fail(`"${text}" is zero; give a positive size`);
  return ok(bytes);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from "30s", "2h", "1h30m", "250ms", or a number of seconds. */
export function parseDuration(input: number | string): Parsed {
  if (typeof input === 'number') {
    return input > 0 && Number.isFinite(input) ? ok(Math.round(input * 1000)) : fail(`${input} is not a positive number of seconds`);
  }
  const text = input.trim();
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
  if (total <= 0) return fail(`"${text}" is zero; give a positive duration`);
  return ok(Math.round(total));
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
