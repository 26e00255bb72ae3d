// Specs a careless or hostile caller can write: each is a field error naming the path, found in
// bounded time, never a crash, a silent change of meaning or a failure deep inside Temporal.
import { describe, expect, it } from 'vitest';
import { LIMITS, checkActionSpec, parseActionSpec, type SpecProblem } from '../../spec/action.js';
import { MAX_QUANTITY_CHARS, parseBytes, parseCpu, parseDuration } from '../../spec/quantity.js';

const image = 'registry.example/team/tool:1';

function problems(spec: unknown): SpecProblem[] {
  const result = checkActionSpec(spec);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(spec)', message: i.message }));
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('lengths and characters', () => {
  it.each([
    ['image', { image: `registry.example/${'a'.repeat(300)}:1` }, /image is longer than 255/],
    ['command.0', { command: ['x'.repeat(LIMITS.stringBytes + 1)] }, /longer than 131072 bytes/],
    ['args.0', { args: ['a\0b'] }, /NUL/],
    ['env.BIG', { env: { BIG: 'v'.repeat(LIMITS.stringBytes + 1) } }, /longer than 131072 bytes/],
    ['env.NUL', { env: { NUL: 'a\0' } }, /NUL/],
    [`env.${'N'.repeat(300)}`, { env: { ['N'.repeat(300)]: 'v' } }, /1-256 letters/],
    ['workingDir', { workingDir: `/${'d'.repeat(5000)}` }, /longer than 4096/],
    ['user', { user: 'u'.repeat(65) }, /at most 64/],
    ['source', { source: 'ok\0' }, /NUL/],
    ['artifacts.prefix', { artifacts: { prefix: 'p/'.repeat(300) } }, /at most 512/],
  ])('%.40s', (path, extra, message) => {
    const found = problems({ image, ...extra });
    expect(found).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('refuses command, args and env above 1 MiB together, naming env', () => {
    const env = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'x'.repeat(120_000)]));
    expect(problems({ image, env })).toContainEqual({ path: 'env', message: expect.stringMatching(/at most 1048576/) });
  });

  it('refuses a 3 MB spec as a whole before looking further, naming its size', () => {
    const found = problems({ image, input: { blob: 'x'.repeat(3_000_000) } });
    expect(found).toEqual([{ path: '(spec)', message: expect.stringMatching(/at most 1572864/) }]);
  });

  it('refuses a 1.2 MB input as input, not as a raw payload error', () => {
    expect(problems({ image, input: 'x'.repeat(1_200_000) })).toContainEqual({
      path: 'input',
      message: expect.stringMatching(/1 MiB/),
    });
  });
});

describe('deeply nested input', () => {
  it('is a field error at depth 3000, not a stack overflow', () => {
    expect(problems({ image, input: nested(3000) })).toContainEqual({
      path: 'input',
      message: expect.stringMatching(/deeper than 64/),
    });
  });

  it('is accepted up to the limit', () => {
    expect(problems({ image, input: nested(LIMITS.inputDepth - 1) })).toEqual([]);
  });
});

describe('quantities', () => {
  it.each([
    ['timeout', { timeout: 0.0001 }, /less than a millisecond/],
    ['timeout', { timeout: '0.1ms' }, /less than a millisecond/],
    ['timeout', { timeout: `${'9'.repeat(400)}s` }, /not one: at most 32/],
    ['timeout', { timeout: '8d' }, /longest deadline, 7 days/],
    ['timeout', { timeout: Infinity }, /not a finite number/],
    ['timeout', { timeout: true }, /a number, or text/],
    ['resources.memory', { resources: { memory: '9'.repeat(400) } }, /not one/],
    ['resources.memory', { resources: { memory: '99999999Ti' } }, /more bytes than any host/],
    ['resources.cpu', { resources: { cpu: '1m' } }, /at least 0.01 cores/],
    ['resources.cpu', { resources: { cpu: 0.001 } }, /at least 0.01 cores/],
    ['resources.memory', { resources: { memory: '1Mi' } }, /at least 6Mi/],
  ])('%s %.60j', (path, extra, message) => {
    expect(problems({ image, ...extra })).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('parse in linear time: a 100,000-character quantity is refused by its length at once', () => {
    const long = `${'1h'.repeat(50_000)}`;
    for (const parse of [parseDuration, parseBytes, parseCpu]) {
      const parsed = parse(long);
      expect(parsed).toMatchObject({ ok: false, message: expect.stringContaining(`at most ${MAX_QUANTITY_CHARS}`) });
    }
  });

  it('keep every value that was valid before', () => {
    const spec = parseActionSpec({ image, timeout: '1h30m', resources: { cpu: '10m', memory: '6Mi', outDisk: '1Gi' } });
    expect(spec.timeout).toBe(5_400_000);
    expect(spec.resources).toMatchObject({ cpu: 0.01, memory: 6 * 2 ** 20, outDisk: 2 ** 30 });
  });
});

describe('names that are also Object.prototype properties', () => {
  it('are ordinary env names, kept as own properties and passed on', () => {
    const env = JSON.parse('{"__proto__": "p", "toString": "t", "constructor": "c", "hasOwnProperty": "h"}') as Record<
      string,
      string
    >;
    const spec = parseActionSpec({ image, env });
    expect(Object.entries(spec.env!)).toEqual([
      ['__proto__', 'p'],
      ['toString', 't'],
      ['constructor', 'c'],
      ['hasOwnProperty', 'h'],
    ]);
    expect(Object.getPrototypeOf(spec.env)).toBe(Object.prototype);
    // It survives the trip through a payload (JSON) as the same own property.
    expect(Object.entries(JSON.parse(JSON.stringify(spec.env)) as object)).toContainEqual(['__proto__', 'p']);
  });

  it('as secrets, only clash with env names that are really there', () => {
    expect(problems({ image, secrets: ['toString', 'constructor'] })).toEqual([]);
    expect(problems({ image, env: { toString: 'x' }, secrets: ['toString'] })).toContainEqual({
      path: 'secrets',
      message: expect.stringContaining('both'),
    });
  });
});
