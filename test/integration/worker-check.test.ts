// The worker's pre-flight against the real stack: all is well here, and a wrong bucket or a
// Temporal that does not answer fail with their reason, within the check's bound.
import { describe, expect, it } from 'vitest';
import { freePort } from '../../harness/free-port.js';
import { loadWorkerConfig } from '../../worker/config.js';
import { checkWorker, formatChecks } from '../../worker/check.js';

const config = loadWorkerConfig(process.env);

describe('checkWorker', () => {
  it('passes every check against the running engine, MinIO and Temporal', async () => {
    const checks = await checkWorker(config);
    expect(checks.map((c) => c.name)).toEqual(['engine', 's3', 'temporal', 'disks', 'policy']);
    expect(
      checks.filter((c) => !c.ok),
      formatChecks(checks),
    ).toEqual([]);
    expect(checks.find((c) => c.name === 'engine')?.detail).toMatch(/^Docker \S+ \(API \S+\)/);
    expect(checks.find((c) => c.name === 'disks')?.detail).toContain('ext4 disk made, mounted and removed');
    expect(formatChecks(checks).split('\n')).toHaveLength(5);
  });

  it('names a bucket that does not exist and an unreachable Temporal, within the bound', async () => {
    const silent = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const checks = await checkWorker(
      { ...config, CAISSON_ARTIFACTS_BUCKET: 'caisson-check-no-such-bucket', TEMPORAL_ADDRESS: silent },
      3_000,
    );
    expect(Date.now() - started).toBeLessThan(6_000);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName.s3).toMatchObject({ ok: false });
    expect(byName.s3!.detail).toMatch(
      /cannot write to bucket caisson-check-no-such-bucket: .*NoSuchBucket|does not exist/i,
    );
    expect(byName.s3!.detail).toContain('CAISSON_ARTIFACTS_BUCKET');
    expect(byName.temporal).toMatchObject({ ok: false });
    expect(byName.temporal!.detail).toContain(`Temporal at ${silent}`);
    expect(byName.temporal!.detail).toContain('TEMPORAL_ADDRESS');
    expect(byName.engine!.ok).toBe(true);
    expect(formatChecks(checks)).toMatch(/^✗ s3 /m);
  });
});
