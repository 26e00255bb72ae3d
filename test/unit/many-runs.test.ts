// Many runs, as pure rules: array options and their items checked as children's inputs; a
// schedule's name and timing checked before the server is asked; the deadline field.
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { arrayProblems } from '../../client/arrays.js';
import { ActionSchedules, ScheduleError } from '../../client/schedules.js';
import { ArrayOptions } from '../../spec/array.js';
import { parseActionSpec } from '../../spec/action.js';

const spec = { image: 'r.example/team/tool:1' };

describe('array options', () => {
  it('take count or items, parallelism 10 by default, and check each item as a child input', () => {
    expect(ArrayOptions.parse({ count: 3 })).toEqual({ count: 3, parallelism: 10 });
    expect(arrayProblems(spec, { count: 2, items: [1, 2] })).toEqual([
      { path: 'array.(spec)', message: 'give count, or items (one child each)' },
    ]);
    expect(arrayProblems(spec, { count: 10_001, parallelism: 0 }).map((p) => p.path)).toEqual([
      'array.count',
      'array.parallelism',
    ]);
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(arrayProblems(spec, { items: [{ ok: true }, deep] })).toEqual([
      { path: 'array.items.1', message: expect.stringContaining('nests deeper than 64 levels') },
    ]);
    expect(arrayProblems(spec, { items: Array.from({ length: 2000 }, () => 'x'.repeat(1000)) })).toEqual([
      { path: 'array.items', message: expect.stringMatching(/^the spec and items are \d+ bytes as JSON; at most/) },
    ]);
    expect(arrayProblems({ image: 'Not An Image' }, { count: 1 })[0]!.path).toBe('image');
  });
});

describe('a schedule', () => {
  // Refused before the server is asked: a client that is never called.
  const schedules = new ActionSchedules({} as Client, 'q');

  it('needs a name, and cron expressions or an interval (not both), durations that parse', async () => {
    await expect(schedules.create('bad name', spec, { every: '1h' })).rejects.toThrow(
      'a schedule name is 1-150 letters',
    );
    await expect(schedules.create('s', spec, {})).rejects.toThrow(
      new ScheduleError('give the schedule --cron EXPRESSION (repeatable) or --every DURATION'),
    );
    await expect(schedules.create('s', spec, { cron: ['0 3 * * *'], every: '1h' })).rejects.toThrow(
      'give the schedule --cron',
    );
    await expect(schedules.create('s', spec, { every: 'soon' })).rejects.toThrow(/^every: /);
    await expect(schedules.create('s', spec, { every: '1h', jitter: 'x' })).rejects.toThrow(/^jitter: /);
  });
});

describe('deadline', () => {
  it('is a duration like timeout', () => {
    expect(parseActionSpec({ ...spec, deadline: '2h' }).deadline).toBe(7_200_000);
    expect(() => parseActionSpec({ ...spec, deadline: 'later' })).toThrow('deadline');
  });
});
