// The test proxy counts requests by parsing HTTP, so a count means what it says: a request split
// over several reads is one request, several in one read are several, and a body that happens to
// hold a request line (an uploaded log, a tar) is not one.
import { describe, expect, it } from 'vitest';
import { RequestReader } from '../../harness/counting-proxy.js';

const heads = (reader: RequestReader, ...chunks: string[]) =>
  chunks
    .flatMap((c) => reader.push(Buffer.from(c, 'latin1')))
    .flatMap((p) => (p.request ? [`${p.request.method} ${p.request.target}`] : []));

describe('RequestReader', () => {
  it('reads one request split across reads, byte by byte', () => {
    const request = 'PUT /bucket/key?partNumber=2&uploadId=x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello';
    const reader = new RequestReader();
    const seen = [...request].flatMap((ch) => heads(reader, ch));
    expect(seen).toEqual(['PUT /bucket/key?partNumber=2&uploadId=x']);
  });

  it('reads several requests in one read, and passes every byte on', () => {
    const a = 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n';
    const b = 'POST /containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}';
    const reader = new RequestReader();
    const pieces = reader.push(Buffer.from(a + b + a));
    expect(pieces.filter((p) => p.request).map((p) => p.request!.target)).toEqual([
      '/_ping',
      '/containers/create',
      '/_ping',
    ]);
    expect(Buffer.concat(pieces.map((p) => p.bytes)).toString()).toBe(a + b + a);
  });

  it('does not count a request line inside a body, of either framing', () => {
    const inside = 'GET /not/a/request HTTP/1.1\r\n\r\n';
    const sized = `PUT /b/log HTTP/1.1\r\nContent-Length: ${inside.length}\r\n\r\n${inside}`;
    const chunked = `PUT /containers/x/archive HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${inside.length.toString(16)}\r\n${inside}\r\n0\r\n\r\n`;
    const after = 'GET /after HTTP/1.1\r\n\r\n';
    const reader = new RequestReader();
    // The chunked body arrives in two reads that cut a chunk's size line.
    const cut = chunked.indexOf('\r\n\r\n') + 5;
    expect(heads(reader, sized, chunked.slice(0, cut), chunked.slice(cut) + after)).toEqual([
      'PUT /b/log',
      'PUT /containers/x/archive',
      'GET /after',
    ]);
  });

  it('passes an upgraded connection on as it is', () => {
    const reader = new RequestReader();
    const attach = 'POST /containers/x/attach?stream=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
    expect(heads(reader, attach, 'GET /raw HTTP/1.1\r\n\r\n')).toEqual(['POST /containers/x/attach?stream=1']);
  });
});
