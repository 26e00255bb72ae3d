// How one of the worker's log entries is written on stderr: a JSON object per line (the default,
// for log collectors) or a line for a person reading a terminal. Messages and fields may carry
// untrusted text (an image name, an engine's or a container's error): both forms keep it data,
// JSON-escaped, so it can neither start a line of its own nor send control sequences to a terminal.
import type { LogEntry, LogLevel } from '@temporalio/worker';

export type LogFormat = 'json' | 'text';

/** The SDK's level for CAISSON_LOG_LEVEL's value. */
export const sdkLevel = (level: 'debug' | 'info' | 'warn' | 'error'): LogLevel =>
  level.toUpperCase() as Uppercase<typeof level>;

/** Control characters, and the two separators JavaScript reads as line ends, written as \uXXXX. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const escapeUnprintable = (text: string) =>
  text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The entry as one line, newline included; the SDK adds the workflow id (the action id) to activities' entries. */
export function logLine(entry: LogEntry, format: LogFormat, now = new Date()): string {
  const { message, level, meta } = entry;
  const actionId = (meta as { workflowId?: string } | undefined)?.workflowId;
  if (format === 'json') {
    return escapeUnprintable(JSON.stringify({ time: now.toISOString(), level, message, actionId, ...meta })) + '\n';
  }
  const fields = Object.entries({ actionId, ...meta })
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${escapeUnprintable(key)}=${escapeUnprintable(JSON.stringify(value) ?? String(value))}`);
  return `${now.toISOString()} ${level.padEnd(5)} ${escapeUnprintable(String(message))}${fields.join('')}\n`;
}
