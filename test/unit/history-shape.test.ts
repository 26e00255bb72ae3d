// What a run of today's shape costs in workflow history, read from the recorded histories of real
// runs (test/replay/histories): few events, and at most one search-attribute upsert per workflow
// task, however the run ended.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HISTORIES = fileURLToPath(new URL('../replay/histories', import.meta.url));
const events = (name: string): string[] =>
  (JSON.parse(readFileSync(`${HISTORIES}/${name}.json`, 'utf8')) as { events: { eventType: string }[] }).events.map(
    (e) => e.eventType,
  );

describe('the history of a run', () => {
  it.each(['done', 'failed', 'canceled', 'timeout', 'retry-on-exit-code', 'host-lost'])(
    '%s: at most one search-attribute upsert per workflow task',
    (name) => {
      let upserts = 0;
      for (const type of events(name)) {
        if (type === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') upserts = 0;
        if (type === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES') expect(++upserts).toBe(1);
      }
    },
  );

  // The per-step shape it replaced took 49 events for the same run (its histories are retired).
  it('a DONE trivial run takes two activities (place, execute) and fewer than 25 events', () => {
    const done = events('done');
    expect(done.filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toHaveLength(2);
    expect(done.length).toBeLessThan(25);
  });
});
