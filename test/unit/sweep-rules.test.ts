// The rules of sweeps without a workflow: JSON pointers as RFC 6901 writes them, the options the
// array refuses, and the bound on what an array of thousands of children keeps of their outputs.
import { describe, expect, it } from 'vitest';
import { arrayProblems } from '../../client/arrays.js';
import { ArrayOptions } from '../../spec/array.js';
import { JsonPointer, valueAt } from '../../spec/json-pointer.js';
import { OUTPUT_BYTES_TOTAL, objectiveValue } from '../../spec/sweep.js';
import { noteChild, startSweep, sweepResult } from '../../workflows/sweep.js';
import type { ArrayChild } from '../../spec/array.js';

describe('JSON pointers', () => {
  // The document and pointers of RFC 6901, section 5.
  const doc = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'c%d': 2,
    'e^f': 3,
    'g|h': 4,
    'i\\j': 5,
    'k"l': 6,
    ' ': 7,
    'm~n': 8,
  };

  it("resolves RFC 6901's examples", () => {
    expect(valueAt(doc, '')).toEqual(doc);
    expect(valueAt(doc, '/foo')).toEqual(['bar', 'baz']);
    expect(valueAt(doc, '/foo/0')).toBe('bar');
    const rest: [string, number][] = [
      ['/', 0],
      ['/a~1b', 1],
      ['/c%d', 2],
      ['/e^f', 3],
      ['/g|h', 4],
      ['/i\\j', 5],
      ['/k"l', 6],
      ['/ ', 7],
      ['/m~0n', 8],
    ];
    for (const [pointer, value] of rest) expect(valueAt(doc, pointer)).toBe(value);
  });

  it('finds nothing past the document, at a bad index or in an inherited property', () => {
    expect(valueAt(doc, '/foo/2')).toBeUndefined();
    expect(valueAt(doc, '/foo/01')).toBeUndefined();
    expect(valueAt(doc, '/foo/-')).toBeUndefined();
    expect(valueAt(doc, '/nope/x')).toBeUndefined();
    expect(valueAt({}, '/constructor')).toBeUndefined();
    expect(valueAt(3, '/a')).toBeUndefined();
  });

  it('refuses what is not a pointer', () => {
    for (const bad of ['loss', '/a~2', '/a~', '#/loss']) expect(JsonPointer.safeParse(bad).success).toBe(false);
    for (const good of ['', '/', '/loss', '/a~0~1b/0']) expect(JsonPointer.safeParse(good).success).toBe(true);
  });

  it('reads an objective only as a finite number', () => {
    expect(objectiveValue({ loss: 0.5 }, '/loss')).toBe(0.5);
    for (const output of [{ loss: '0.5' }, { loss: null }, {}, undefined, 'text'])
      expect(objectiveValue(output, '/loss')).toBeUndefined();
  });
});

describe("a sweep's options", () => {
  const json = { image: 'busybox:1', output: 'json' as const };

  it('refuses a bad pointer or goal, earlyStop without an objective, and a zero patience or maxTrials', () => {
    const refused = (array: Record<string, unknown>) =>
      arrayProblems(json, { count: 3, ...array }).map((p) => `${p.path}: ${p.message}`);
    expect(refused({ objective: { pointer: 'loss', goal: 'minimize' } })).toEqual([
      expect.stringMatching(/^array\.objective\.pointer: a JSON pointer \(RFC 6901\)/),
    ]);
    expect(refused({ objective: { pointer: '/loss', goal: 'lowest' } })[0]).toMatch(/^array\.objective\.goal/);
    expect(refused({ earlyStop: { patience: 2 } })).toEqual([
      'array.earlyStop: earlyStop needs an objective to improve',
    ]);
    expect(refused({ objective: { pointer: '/l', goal: 'maximize' }, earlyStop: { patience: 0 } })).toEqual([
      'array.earlyStop.patience: patience is at least 1',
    ]);
    expect(refused({ maxTrials: 0 })).toEqual(['array.maxTrials: maxTrials is at least 1']);
  });

  it('reads outputs and objectives only from children whose output is JSON', () => {
    const text = { image: 'busybox:1' };
    expect(arrayProblems(text, { count: 2, outputs: true })).toEqual([
      { path: 'array.outputs', message: 'outputs reads each child\'s JSON output: set output to "json"' },
    ]);
    expect(arrayProblems(text, { count: 2, objective: { pointer: '/l', goal: 'minimize' } })[0]!.path).toBe(
      'array.objective',
    );
    expect(arrayProblems(json, { count: 2, outputs: true, objective: { pointer: '/l', goal: 'minimize' } })).toEqual(
      [],
    );
  });
});

describe("what a sweep keeps of its children's outputs", () => {
  it('of 2,000 children printing 60 KiB each keeps at most 1 MiB, and says which it dropped', () => {
    const options = ArrayOptions.parse({
      count: 2000,
      outputs: true,
      objective: { pointer: '/loss', goal: 'minimize' },
    });
    const sweep = startSweep(options)!;
    const count = 2000;
    for (let index = 0; index < count; index++)
      noteChild(sweep, options, index, true, { loss: count - index, weights: 'w'.repeat(60 << 10) });
    const children: ArrayChild[] = Array.from({ length: count }, (_, index) => ({
      index,
      status: 'DONE',
      exitCode: 0,
    }));
    const summary = sweepResult(sweep, options, 'sweep', children);
    const bytes = new TextEncoder().encode(JSON.stringify({ ...summary, children })).length;
    // Temporal refuses payloads over 2 MiB: the result stays well under.
    expect(bytes).toBeLessThan(1.5 * 2 ** 20);
    // The carry it continues as new with is bounded alike.
    expect(new TextEncoder().encode(JSON.stringify(sweep)).length).toBeLessThan(OUTPUT_BYTES_TOTAL + (64 << 10));
    const kept = children.filter((c) => 'output' in c).length;
    expect(kept).toBe(Math.floor(OUTPUT_BYTES_TOTAL / JSON.stringify(children[0]!.output).length));
    expect(summary.outputsOmitted).toBe(count - kept);
    expect(children[count - 1]!.outputOmitted).toBe('over 1 MiB kept in all');
    // The best is known whatever was dropped.
    expect(summary.best).toEqual({ index: count - 1, id: `sweep-${count - 1}`, value: 1 });
  });

  it('keeps nothing for a plain array', () => {
    expect(startSweep(ArrayOptions.parse({ count: 3, maxTrials: 2 }))).toBeUndefined();
  });
});
