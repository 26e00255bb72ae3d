// What an image leaves in /out, at its worst, on the real stack: names S3 cannot store, tens of
// thousands of entries, long symlink targets, many names for one file, a huge sparse file, and
// several attempts' logs. Each ends DONE within a bound, with a result that stays small, and leaves
// nothing behind.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { busybox, useSuiteWorker } from '../support/actions.js';
import { objectText, s3 } from '../support/env.js';

const suite = useSuiteWorker();
let client: ActionsClient;
beforeAll(() => {
  client = suite.client();
});

async function runTimed(script: string, timeout = '5m') {
  const began = Date.now();
  const result = await (await client.start(busybox(script, { timeout }))).result();
  return { result, ms: Date.now() - began, bytes: JSON.stringify(result).length };
}

/** A shell expression for a string of `n` times the letter a. */
const letters = (n: number) => `$(head -c ${n} /dev/zero | tr '\\0' a)`;

describe('names in /out that S3 cannot store', () => {
  it('are skipped with their reasons, and every other file is stored', async () => {
    const deep = Array.from({ length: 5 }, () => letters(220)).join('/');
    const { result, ms } = await runTimed(
      [
        'cd /out',
        'echo good > good.txt',
        'echo sp > " .."', // a part S3 servers trim to ".."
        'echo dot > ". "',
        `printf 'bad' > "$(printf 'not-utf8-\\377')"`,
        `printf same > "$(printf 'not-utf8-\\357\\277\\275')"`, // the name with U+FFFD: not to be mistaken for the one above
        `mkdir -p "${deep}" && echo too-long > "${deep}/file.txt"`,
        'mkdir -p nested/ok && echo fine > nested/ok/fine.txt',
      ].join('; '),
    );
    expect(result.status).toBe('DONE');
    expect(ms).toBeLessThan(60_000);
    const stored = result.artifacts.map((a) => a.path).sort();
    expect(stored).toEqual(['good.txt', 'nested/ok/fine.txt', 'not-utf8-\uFFFD']);
    expect(await objectText(s3(), result.artifacts.find((a) => a.path === 'not-utf8-\uFFFD')!.uri)).toBe('same');
    const why = (path: string) => result.skipped.find((s) => s.path === path)?.why;
    expect(why(' ..')).toMatch(/"\.\."/);
    expect(why('. ')).toMatch(/"\."/);
    expect(why('not-utf8-\\xff')).toBe('name is not valid UTF-8');
    expect(result.skipped.some((s) => /1024 bytes/.test(s.why))).toBe(true);
    expect(result.skippedTotal).toBe(4);
  });
});

describe('a /out with tens of thousands of entries', () => {
  it('20,000 files: all stored, the result lists 1000 and counts all, and stays small', async () => {
    const { result, ms, bytes } = await runTimed('cd /out && seq 1 20000 | sed s/^/f/ | xargs touch && echo made');
    expect(result).toMatchObject({ status: 'DONE', artifactTotals: { files: 20_000, bytes: 0 } });
    expect(result.artifacts).toHaveLength(1000);
    expect(bytes).toBeLessThan(512 << 10);
    expect(ms).toBeLessThan(180_000);
  });

  it('20,000 symlinks with 4000-byte targets and 100 names of one file: listed up to 100, counted, the file stored once', async () => {
    const script = [
      `L=${letters(4000)}`,
      'seq 1 20000 | sed "s|^|/$L/t|" | xargs sh -c \'ln -s "$@" /out/\' _',
      'echo shared > /out/h0',
      'i=1; while [ $i -lt 100 ]; do ln /out/h0 /out/h$i; i=$((i+1)); done',
    ].join('; ');
    const { result, ms, bytes } = await runTimed(script);
    expect(result.status).toBe('DONE');
    expect(result.artifacts.map((a) => a.path)).toEqual(['h0']);
    expect(result.artifactTotals).toEqual({ files: 1, bytes: 7 });
    expect(result.skippedTotal).toBe(20_000 + 99);
    expect(result.skipped).toHaveLength(100);
    expect(result.skipped.every((s) => s.path.length <= 300 && s.why.length <= 300)).toBe(true);
    expect(bytes).toBeLessThan(256 << 10);
    expect(ms).toBeLessThan(180_000);
  });
});

describe('a 1 GiB sparse file in /out', () => {
  it('is stored whole, streamed, with the action alive all along', async () => {
    const { result, ms } = await runTimed('truncate -s 1G /out/sparse.bin && echo made');
    try {
      expect(result.status).toBe('DONE');
      expect(result.artifacts).toEqual([expect.objectContaining({ path: 'sparse.bin', size: 2 ** 30 })]);
      expect(ms).toBeLessThan(240_000);
      // Alive all along: the upload heartbeated, so the host activity ran once, never timed out and
      // retried, and its host was never taken for lost.
      const events = (await client.client.workflow.getHandle(result.actionId).fetchHistory()).events!;
      const tries = events.filter(
        (e) =>
          e.activityTaskStartedEventAttributes &&
          events.some(
            (s) =>
              String(s.eventId) === String(e.activityTaskStartedEventAttributes!.scheduledEventId) &&
              s.activityTaskScheduledEventAttributes?.activityType?.name === 'execute',
          ),
      );
      expect(tries.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
      expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toEqual([]);
    } finally {
      const uri = new URL(result.artifacts[0]?.uri ?? 's3://none/none');
      await s3()
        .send(new DeleteObjectCommand({ Bucket: uri.host, Key: uri.pathname.slice(1) }))
        .catch(() => {});
    }
  });
});

describe('an action run several times (retry)', () => {
  it('keeps the full logs of every attempt', async () => {
    const handle = await client.start(
      busybox('echo out-$ACTION_ATTEMPT; echo err-$ACTION_ATTEMPT >&2; exit 3', {
        retry: { attempts: 3, onExitCodes: [3] },
      }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'FAILED', exitCode: 3, attempts: 3 });
    const store = s3();
    expect(await objectText(store, result.logs!.stdout)).toBe('out-3\n');
    expect(result.logs!.earlier?.map((e) => e.attempt)).toEqual([1, 2]);
    for (const earlier of result.logs!.earlier!) {
      expect(await objectText(store, earlier.stdout)).toBe(`out-${earlier.attempt}\n`);
      expect(await objectText(store, earlier.stderr)).toBe(`err-${earlier.attempt}\n`);
    }
  });
});
