// The live log's pieces that need no S3: frames as the engine sends them, the time each carries,
// the position a resumed shipper skips to, and lines as followers see them.
import { describe, expect, it } from 'vitest';
import {
  FrameSplitter,
  LOG_START,
  PositionTracker,
  segmentKey,
  splitTimestamp,
  timeNs,
} from '../../common/storage/log-segments.js';
import { LineAssembler, MAX_LINE, parseS3Uri } from '../../client/log-reader.js';

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('frames of the engine log', () => {
  it('cuts a stream into whole frames whatever the chunk boundaries', () => {
    const stream = Buffer.concat([frame(1, 'a\n'), frame(2, 'error\n'), frame(1, 'b')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const splitter = new FrameSplitter();
      const frames = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
      expect(frames.map((f) => `${f.stream}:${f.payload.toString()}`)).toEqual([
        'stdout:a\n',
        'stderr:error\n',
        'stdout:b',
      ]);
      expect(Buffer.concat(frames.map((f) => f.raw)).equals(stream)).toBe(true);
      expect(splitter.leftover).toBe(0);
    }
  });

  it('reads the engine time to the nanosecond and keeps the bytes after it untouched', () => {
    const { time, ns, data } = splitTimestamp(Buffer.from('2026-11-23T10:00:01.000000042Z line one\n'));
    expect(time).toBe('2026-11-23T10:00:01.000000042Z');
    expect(ns).toBe(BigInt(Date.parse('2026-11-23T10:00:01Z')) * 1_000_000n + 42n);
    expect(data.toString()).toBe('line one\n');
    expect(timeNs('2026-11-23T10:00:01.5Z')).toBe(BigInt(Date.parse('2026-11-23T10:00:01.5Z')) * 1_000_000n);
    // No time in front: the whole payload is data, and the parser does not scan a long line.
    const long = Buffer.alloc(4 << 20, 'x');
    expect(splitTimestamp(long).data.length).toBe(long.length);
  });

  it('numbers segments so that their keys sort in order', () => {
    const keys = [0, 9, 10, 12345].map((n) => segmentKey('p', 1, n));
    expect([...keys].sort()).toEqual(keys);
  });

  it('parses s3:// locations and refuses anything else', () => {
    expect(parseS3Uri('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(() => parseS3Uri('https://x/y')).toThrow(/s3:\/\//);
  });
});

describe('resume position', () => {
  it('skips exactly what was shipped when the log is read again, equal times included', () => {
    const times = [5n, 6n, 6n, 6n, 7n, 8n];
    // First read ships the first four frames (up to the second of three frames at time 6… then one more).
    const tracker = new PositionTracker(LOG_START);
    tracker.startRead();
    const shipped: number[] = [];
    for (const [i, ns] of times.slice(0, 3).entries()) {
      if (!tracker.seen(ns)) {
        tracker.advance(ns);
        shipped.push(i);
      }
    }
    expect(tracker.current).toEqual({ ns: 6n, sameTime: 2 });
    // A crash; the next try starts from that position and reads the whole log again.
    const resumed = new PositionTracker(tracker.current);
    resumed.startRead();
    for (const [i, ns] of times.entries()) {
      if (!resumed.seen(ns)) {
        resumed.advance(ns);
        shipped.push(i);
      }
    }
    expect(shipped).toEqual([0, 1, 2, 3, 4, 5]);
    // Reading again once more (the final pass after the follow) ships nothing twice.
    resumed.startRead();
    expect(times.filter((ns) => !resumed.seen(ns))).toEqual([]);
  });
});

describe('lines for followers', () => {
  it('joins partial frames per stream and keeps stdout and stderr apart', () => {
    const lines = new LineAssembler(2);
    const out = [
      ...lines.push('stdout', 't1', Buffer.from('hel')),
      ...lines.push('stderr', 't2', Buffer.from('oops\n')),
      ...lines.push('stdout', 't3', Buffer.from('lo\r\nnext\nlast')),
      ...lines.flush(),
    ];
    expect(out).toEqual([
      { attempt: 2, stream: 'stderr', time: 't2', text: 'oops' },
      { attempt: 2, stream: 'stdout', time: 't1', text: 'hello' },
      { attempt: 2, stream: 'stdout', time: 't3', text: 'next' },
      { attempt: 2, stream: 'stdout', time: 't3', text: 'last' },
    ]);
  });

  it('gives out a line without newlines in bounded pieces', () => {
    const lines = new LineAssembler(1);
    const pieces = [...lines.push('stdout', 't', Buffer.alloc(MAX_LINE * 2 + 5, 'y')), ...lines.flush()];
    expect(pieces.map((l) => l.text.length)).toEqual([MAX_LINE, MAX_LINE, 5]);
  });
});
