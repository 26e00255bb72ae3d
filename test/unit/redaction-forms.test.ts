// A secret is masked in the forms a program prints it in (JSON-escaped, URL-encoded, base64 at any
// offset in a longer base64 text), in a stream too, whatever chunk boundary falls inside it.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { printedForms, Redactor } from '../../activities/logs/redaction.js';

async function through(redactor: Redactor, chunks: string[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(redactor.stream()))
    out.push(chunk as Buffer);
  return Buffer.concat(out).toString('utf8');
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('the JSON-escaped form', () => {
  it('is masked inside a JSON document', () => {
    const secret = 'pa"ss\\wo\trd';
    const r = new Redactor([secret]);
    expect(r.text(JSON.stringify({ token: secret }))).toBe('{"token":"***"}');
  });

  it("is masked as Python's json.dumps and Go's encoding/json write it", () => {
    const accented = 'pässwörd\u007f';
    expect(new Redactor([accented]).text('{"p": "p\\u00e4ssw\\u00f6rd\\u007f"}')).toBe('{"p": "***"}');
    const html = 'a<b>&cdef';
    expect(new Redactor([html]).text('{"p":"a\\u003cb\\u003e\\u0026cdef"}')).toBe('{"p":"***"}');
  });
});

describe('the URL-encoded form', () => {
  const secret = "p@ss w/rd!'~*";
  const r = new Redactor([secret]);

  it('is masked as encodeURIComponent writes it, with %20 or + for a space', () => {
    expect(r.text(`https://h/?t=${encodeURIComponent(secret)}&x=1`)).toBe('https://h/?t=***&x=1');
    expect(r.text(`t=${encodeURIComponent(secret).replace(/%20/g, '+')}`)).toBe('t=***');
  });

  it('is masked as a form encoder (URLSearchParams) and an RFC 3986 encoder (quote_plus) write it', () => {
    expect(r.text(new URLSearchParams({ t: secret }).toString())).toBe('t=***');
    // Python: urllib.parse.quote_plus("p@ss w/rd!'~*")
    expect(r.text('t=p%40ss+w%2Frd%21%27~%2A')).toBe('t=***');
    expect(r.text('t=p%40ss%20w%2Frd%21%27~%2A')).toBe('t=***');
  });

  it('is masked for a non-ASCII secret (UTF-8 bytes)', () => {
    const word = 'mötörhead';
    expect(new Redactor([word]).text(`q=${encodeURIComponent(word)}`)).toBe('q=***');
  });
});

describe('the base64 form', () => {
  it('is masked whole, standard and URL-safe', () => {
    const secret = 'sk-live>>??1234';
    const r = new Redactor([secret]);
    expect(r.text(`k=${b64(secret)}`)).toBe('k=***');
    expect(b64url(secret)).not.toBe(b64(secret));
    expect(r.text(`k=${b64url(secret)}`)).toBe('k=***');
  });

  it('is masked at each of the three offsets inside a longer base64 text, so the secret cannot be decoded', () => {
    for (const secret of ['abcd', 'abcde', 'hunter22', 'a-much-longer-secret-value']) {
      const r = new Redactor([secret]);
      for (const before of ['', 'u', 'us', 'usr:', 'user:', 'user:x']) {
        for (const after of ['', '\n', '!?', ':tail']) {
          const encoded = b64(`${before}${secret}${after}`);
          const masked = r.text(`Authorization: Basic ${encoded}`);
          expect(masked, `${before}|${secret}|${after}`).toContain('***');
          const left = masked.slice('Authorization: Basic '.length).split('***');
          for (const part of left)
            expect(Buffer.from(part, 'base64').toString('latin1')).not.toContain(secret.slice(1, -1));
          // All but at most one character at each edge of the secret's own characters are masked.
          const own = Math.floor((8 * secret.length) / 6);
          expect(left.join('').length).toBeLessThanOrEqual(encoded.length - (own - 2));
        }
      }
    }
  });

  it('masks what `echo $TOKEN | base64` prints (the newline changes the last group)', () => {
    const secret = 'tok>>?0123456789'; // its base64 has a "/": the URL-safe form is no prefix of it
    expect(b64(`${secret}\n`)).not.toContain(b64(secret)); // the whole encoding is not in it
    expect(new Redactor([secret]).text(b64(`${secret}\n`))).toMatch(/^\*\*\*.{0,3}$/);
  });
});

describe('the forms', () => {
  it('add nothing for a value no encoding changes but base64', () => {
    const forms = printedForms('abcdefghi');
    expect(forms[0]).toBe('abcdefghi');
    expect(forms.every((form) => form === 'abcdefghi' || /^[A-Za-z0-9+/=_-]+$/.test(form))).toBe(true);
    expect(new Set(forms).size).toBe(forms.length);
  });

  it('are masked in a stream whatever chunk boundary falls inside them', async () => {
    const secret = 'pä"ss w/rd<&>';
    const r = new Redactor([secret]);
    for (const form of printedForms(secret)) {
      const line = `before ${form} after\nnext line\n`;
      const expected = r.text(line);
      expect(expected, form).not.toContain(form);
      for (let cut = 1; cut < line.length; cut++) {
        expect(await through(r, [line.slice(0, cut), line.slice(cut)]), `${form} cut at ${cut}`).toBe(expected);
      }
    }
  });

  it('are masked across the cut of a very long line', async () => {
    const secret = 'p@ss w/rd "quoted"';
    const r = new Redactor([secret]);
    const long = 'x'.repeat(70_000);
    for (const form of [encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), b64(secret)]) {
      const out = await through(r, [`${long}${form.slice(0, 5)}`, `${form.slice(5)}${long}\n`]);
      expect(out).toBe(`${long}***${long}\n`);
    }
  });

  it('longer than the 64 KiB a stream holds back are held back whole, and masked', async () => {
    const secret = 'é'.repeat(12_000); // %C3%A9 and \u00e9: 72,000 characters
    const r = new Redactor([secret]);
    expect(r.window).toBeGreaterThan(64 << 10);
    // The stream lets a piece of the line go after 70,000 characters, 10,000 of them the form's.
    const line = `${'a'.repeat(60_000)}${encodeURIComponent(secret)}${'b'.repeat(80_000)}\n`;
    const chunks = line.match(/[^]{1,10000}/g)!;
    expect(await through(r, chunks)).toBe(`${'a'.repeat(60_000)}***${'b'.repeat(80_000)}\n`);
  });
});
