// A follower of the live log stops when the run ends. Told the run's end by its caller (`until`: the
// result it awaits anyway), it stops after one more read at once, instead of at its next
// once-a-second look at the run's state: `caisson run` and the Action end as soon as the result.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { endKey, segmentKey } from '../../common/storage/log-segments.js';
import { readLog, type LogLine, type RunLogState } from '../../client/log-reader.js';

const PREFIX = 'out/action-1/run-1/live';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** An S3 holding one attempt's log: one segment and its end marker. */
function storeWithOneLine(): S3Client {
  const objects = new Map<string, Buffer>([
    [segmentKey(PREFIX, 1, 0), frame(1, '2026-12-07T01:00:00.000000001Z hello\n')],
    [endKey(PREFIX, 1), Buffer.from(JSON.stringify({ segments: 1, container: 'c1' }))],
  ]);
  const send = async (command: { input: { Key: string } }) => {
    const body = objects.get(command.input.Key);
    if (!body) throw Object.assign(new Error('missing'), { name: 'NoSuchKey' });
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } };
  };
  return { send } as unknown as S3Client;
}

/** Reads the whole log into `lines`; `done` tells whether the reader has returned. */
function follow(state: () => Promise<RunLogState>, until?: Promise<unknown>) {
  const lines: string[] = [];
  let done = false;
  const reading = (async () => {
    for await (const line of readLog(storeWithOneLine(), state, { follow: true, until }) as AsyncIterable<LogLine>)
      lines.push(line.text);
    done = true;
  })();
  return { lines, reading, done: () => done };
}

/** Lets every promise that can settle without a timer settle. */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

describe('following the live log', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops after a last read as soon as its `until` settles, with no timer needed', async () => {
    vi.useFakeTimers(); // no time passes unless the test says so
    let closed = false;
    const state = async (): Promise<RunLogState> => ({ closed, liveLogs: `s3://bucket/${PREFIX}`, attempts: 1 });
    let ended!: () => void;
    const until = new Promise<void>((resolve) => (ended = resolve));
    const reader = follow(state, until);
    await settle();
    expect(reader.lines).toEqual(['hello']);
    expect(reader.done()).toBe(false); // the run goes on: the reader waits for more

    closed = true;
    ended();
    await settle();
    expect(reader.done()).toBe(true);
    await reader.reading;
  });

  it('without `until`, waits for its next look at the run to see it ended', async () => {
    vi.useFakeTimers();
    let closed = false;
    const state = async (): Promise<RunLogState> => ({ closed, liveLogs: `s3://bucket/${PREFIX}`, attempts: 1 });
    const reader = follow(state);
    await settle();
    closed = true;
    await settle();
    expect(reader.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(reader.done()).toBe(true);
    expect(reader.lines).toEqual(['hello']);
  });
});
