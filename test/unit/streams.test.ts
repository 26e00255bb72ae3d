import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { LineTail, demux } from '../../activities/logs/log-stream.js';
import { safeRelativePath } from '../../activities/collect/collect.js';
import { newLines } from '../../client/follow.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demux', () => {
  it('splits frames even when chunks cut them anywhere', async () => {
    const whole = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')]);
    const chunks = [whole.subarray(0, 3), whole.subarray(3, 13), whole.subarray(13)];
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const outText: Buffer[] = [];
    const errText: Buffer[] = [];
    stdout.on('data', (d) => outText.push(d));
    stderr.on('data', (d) => errText.push(d));
    await demux(chunks, { stdout, stderr });
    expect(Buffer.concat(outText).toString()).toBe('out one\nout two\n');
    expect(Buffer.concat(errText).toString()).toBe('err\n');
  });
});

describe('LineTail', () => {
  it('keeps the last lines, joins split lines and clips long ones', () => {
    const tail = new LineTail(3, 10);
    tail.push('stdout', Buffer.from('a\nb\nc'));
    tail.push('stdout', Buffer.from('c\nd\n'));
    tail.push('stderr', Buffer.from('x'.repeat(30) + '\n'));
    expect(tail.lines()).toEqual(['cc', 'd', 'x'.repeat(10) + '…']);
  });
  it('does not break multi-byte characters cut between chunks', () => {
    const tail = new LineTail();
    const bytes = Buffer.from('grüße\n');
    tail.push('stdout', bytes.subarray(0, 3));
    tail.push('stdout', bytes.subarray(3));
    expect(tail.lines()).toEqual(['grüße']);
  });
});

describe('safeRelativePath', () => {
  it('keeps paths inside /out and refuses escapes', () => {
    expect(safeRelativePath('out/a/b.txt')).toEqual({ path: 'a/b.txt' });
    expect(safeRelativePath('out/')).toEqual({ path: '' });
    expect(safeRelativePath('/etc/passwd')).toHaveProperty('why');
    expect(safeRelativePath('out/../etc/passwd')).toHaveProperty('why');
    expect(safeRelativePath('etc/passwd')).toHaveProperty('why');
  });
});

describe('newLines', () => {
  it('prints only what follows the overlap with the previous tail', () => {
    expect(newLines([], ['a', 'b'])).toEqual(['a', 'b']);
    expect(newLines(['a', 'b', 'c'], ['b', 'c', 'd', 'e'])).toEqual(['d', 'e']);
    expect(newLines(['a', 'b'], ['a', 'b'])).toEqual([]);
    expect(newLines(['a'], ['x', 'y'])).toEqual(['x', 'y']);
  });
});
