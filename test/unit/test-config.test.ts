// Integration files share one engine, one Temporal server and one MinIO: they must run one after
// another. vitest reads fileParallelism only at the top of the config (inside a project it is
// ignored), so the guard is checked where vitest reads it.
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';

describe('the test configuration', () => {
  it('runs test files one after another, set where vitest reads it', () => {
    expect(config.test?.fileParallelism).toBe(false);
    for (const project of config.test?.projects ?? []) {
      expect(Object.keys((project as { test?: object }).test ?? {})).not.toContain('fileParallelism');
    }
  });
});
