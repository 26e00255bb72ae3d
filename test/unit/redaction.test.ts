// Secret values masked wherever a container's output goes: whole, line by line for multi-line
// secrets, before a line is clipped, and across the pieces a stream arrives in.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineTail } from '../../activities/logs/log-stream.js';
import { Redactor } from '../../activities/logs/redaction.js';

const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  '-----END PRIVATE KEY-----',
].join('\n');

async function through(redactor: Redactor, chunks: string[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(redactor.stream()))
    out.push(chunk as Buffer);
  return Buffer.concat(out).toString('utf8');
}

describe('a redactor', () => {
  it('masks a value wherever it appears, the longest first', () => {
    const r = new Redactor(['s3cr3t', 's3cr3t-longer']);
    expect(r.text('a=s3cr3t-longer b=s3cr3t')).toBe('a=*** b=***');
  });

  it('masks each line of a multi-line secret (a PEM key printed with cat)', () => {
    const r = new Redactor([PEM]);
    const printed = `key:\n${PEM.replace(/\n/g, '\r\n')}\n`;
    const masked = r.text(printed);
    expect(masked).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    expect(masked).not.toContain('BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj');
  });

  it('leaves output byte for byte when there is no secret', () => {
    const binary = Buffer.from([0xff, 0x00, 0xfe]);
    expect(new Redactor([]).bytes(binary)).toBe(binary);
    expect(new Redactor(['abc']).active).toBe(false); // too short to be a secret worth masking
  });

  it('as a stream, masks a secret split across chunks, and across the cut of a very long line', async () => {
    const r = new Redactor(['TOPSECRETVALUE']);
    expect(await through(r, ['line with TOPSEC', 'RETVALUE in it\nnext'])).toBe('line with *** in it\nnext');
    const long = 'x'.repeat(70_000);
    const out = await through(r, [`${long}TOPSECR`, `ETVALUE${long}\n`]);
    expect(out).not.toContain('TOPSEC');
    expect(out).toBe(`${long}***${long}\n`);
  });
});

describe('a log tail', () => {
  it('masks before it clips, so a secret is never shown in part', () => {
    const secret = 'Z'.repeat(50);
    const tail = new LineTail(5, 30, (line) => new Redactor([secret]).text(line), secret.length);
    tail.push('stdout', Buffer.from(`${'a'.repeat(20)}${secret}tail\n`));
    expect(tail.lines()).toEqual([`${'a'.repeat(20)}***tail`]);
    // An unfinished line longer than the tail keeps: the secret is masked before it is shortened.
    tail.push('stderr', Buffer.from(`${'b'.repeat(100)}${secret}`));
    tail.push('stderr', Buffer.from('end'));
    expect(tail.lines().at(-1)).not.toMatch(/Z/);
  });
});
