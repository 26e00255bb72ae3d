// Live logs on the real stack: every line the container writes reaches the CLI and the client, in
// order, while it runs, from the segments the host ships to S3; late followers catch up; a worker
// killed mid-log loses and repeats nothing.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { LogLine, LogOptions } from '../../client/index.js';
import { spawnWorker, type WorkerProcess } from '../../harness/worker-process.js';
import { busybox, connectClient, expectNoLeftovers } from '../support/actions.js';
import { containerStarts, env } from '../support/env.js';

const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url));

/** A shell loop printing `<prefix>-0` … `<prefix>-<n-1>`, one line every `usleep` microseconds. */
const lines = (n: number, usleep: number, prefix = 'line') =>
  `i=0; while [ $i -lt ${n} ]; do echo ${prefix}-$i; i=$((i+1)); usleep ${usleep}; done`;
const numbered = (n: number, prefix = 'line') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function caisson(
  args: string[],
  taskQueue = inject('taskQueue'),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CAISSON_TASK_QUEUE: taskQueue }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function collectLines(source: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of source) out.push(line);
  return out;
}

const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM')));
});

describe('caisson run', () => {
  it('with --pretty shows all 300 lines in order while the action runs, stderr marked apart', async () => {
    const script = `${lines(300, 20000)}; echo problem >&2`;
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--pretty', env('TEST_IMAGE_BUSYBOX'), '--', 'sh', '-c', script],
      {
        env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue') },
      },
    );
    let stderr = '';
    let stdout = '';
    let firstLineAt = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!firstLineAt && stderr.includes('| line-0\n')) firstLineAt = Date.now();
    });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const shown = stderr.split('\n').filter((l) => l.startsWith('| ') || l.startsWith('! '));
    expect(shown).toEqual([...numbered(300).map((l) => `| ${l}`), '! problem']);
    // The first line was on screen while the container was still printing (300 × 20 ms ≥ 6 s).
    const id = /started (action-[0-9a-f-]+)/.exec(stderr)![1]!;
    const client = await connectClient();
    try {
      const result = await client.attach(id).result();
      expect(firstLineAt).toBeGreaterThan(0);
      expect(firstLineAt).toBeLessThan(Date.parse(result.finishedAt) - 3000);
      expect(stdout).toMatch(/^DONE/);
    } finally {
      await client.close();
    }
  });
});

describe('ActionsClient.logs', () => {
  it('follows every line live, and a follower that starts after the end gets all of it too', async () => {
    const client = await connectClient();
    try {
      const handle = await client.start(busybox(`${lines(300, 20000)}; echo warn-1 >&2; printf no-newline`));
      let readWhileRunning = 0;
      let ended = false;
      const result = handle.result().finally(() => (ended = true));
      const live: LogLine[] = [];
      for await (const line of handle.logs({ follow: true })) {
        live.push(line);
        if (!ended) readWhileRunning++;
      }
      expect((await result).status).toBe('DONE');
      expect(live.map((l) => l.text)).toEqual([...numbered(300), 'warn-1', 'no-newline']);
      expect(live.map((l) => l.stream)).toEqual([...Array(300).fill('stdout'), 'stderr', 'stdout']);
      expect(live.every((l) => l.attempt === 1 && /^\d{4}-\d\d-\d\dT.*Z$/.test(l.time))).toBe(true);
      // Most lines were read while the action ran, not all at the end.
      expect(readWhileRunning).toBeGreaterThan(200);

      // Afterwards: the same lines, with or without follow.
      const later = await collectLines(handle.logs());
      expect(later).toEqual(live);
      expect(await collectLines(handle.logs({ follow: true }))).toEqual(live);
      // Filters as docker logs has them.
      expect((await collectLines(handle.logs({ tail: 3 }))).map((l) => l.text)).toEqual([
        'line-299',
        'warn-1',
        'no-newline',
      ]);
      expect((await collectLines(handle.logs({ streams: ['stderr'] }))).map((l) => l.text)).toEqual(['warn-1']);
      const since = new Date(Date.parse(live[200]!.time.replace(/\.(\d{3})\d*Z$/, '.$1Z')) + 1);
      const sinceLines = await collectLines(handle.logs({ since }));
      expect(sinceLines[0]!.text).toBe('line-201');
      expect(sinceLines).toHaveLength(101);
      // The final objects hold the same bytes.
      expect((await result).liveLogs).toMatch(new RegExp(`^s3://.*/${handle.actionId}/logs/live/`));
    } finally {
      await client.close();
    }
  });

  it('keeps the log of every attempt; --attempt and --previous read one of them', async () => {
    const client = await connectClient();
    try {
      const handle = await client.start(
        busybox(`echo "attempt $ACTION_ATTEMPT"; [ "$ACTION_ATTEMPT" = 2 ] && echo last && exit 0; exit 5`, {
          retry: { attempts: 3, onExitCodes: [5] },
        }),
      );
      const all = await collectLines(handle.logs({ follow: true }));
      expect(all.map((l) => `${l.attempt}:${l.text}`)).toEqual(['1:attempt 1', '2:attempt 2', '2:last']);
      expect((await handle.result()).attempts).toBe(2);
      expect((await collectLines(handle.logs({ attempt: 1 }))).map((l) => l.text)).toEqual(['attempt 1']);
      const previous = await caisson(['logs', handle.actionId, '--previous']);
      expect(previous.code).toBe(0);
      expect(previous.stdout).toBe('attempt 1\n');
      const second = await caisson(['logs', handle.actionId, '--attempt', '2', '--timestamps']);
      expect(second.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+Z attempt 2\n\S+ last\n$/);
    } finally {
      await client.close();
    }
  });
});

describe('caisson logs', () => {
  it('writes stdout and stderr apart, honours --tail, --stdout and --stderr, and follows to the end', async () => {
    const started = await caisson([
      'run',
      '--detach',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      `${lines(50, 40000)}; echo bad >&2; echo done`,
    ]);
    const id = started.stdout.trim();
    const followed = await caisson(['logs', id, '--follow']);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe([...numbered(50), 'done', ''].join('\n'));
    expect(followed.stderr).toContain('bad\n');
    expect((await caisson(['logs', id, '--tail', '2'])).stdout).toBe('done\n');
    expect((await caisson(['logs', id, '--tail', '2'])).stderr).toContain('bad\n');
    expect((await caisson(['logs', id, '--stderr'])).stdout).toBe('');
    expect((await caisson(['logs', id, '--stdout', '--tail', '1'])).stdout).toBe('done\n');
    const bad = await caisson(['logs', id, '--tail', 'many']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('--tail');
  });
});

describe('a worker killed while the container writes its log', () => {
  it('loses no line and repeats none: the re-attached activity resumes shipping where the last segment ended', async () => {
    const taskQueue = `livelog-${randomUUID()}`;
    const since = Date.now();
    const spawnOne = () => {
      const w = spawnWorker('livelog', {
        CAISSON_TASK_QUEUE: taskQueue,
        CAISSON_HOST: 'livelog-host',
        CAISSON_ALLOWED_IMAGES: '*',
      });
      workers.push(w);
      return w;
    };
    const first = spawnOne();
    await first.ready;
    const client = await connectClient(taskQueue);
    try {
      // Two lines per write, some to stderr, 600 lines over ~6 s.
      const handle = await client.start(busybox(`${lines(400, 15000)} & ${lines(200, 30000, 'err')} >&2; wait`));
      const following: LogOptions = { follow: true };
      const reading = collectLines(handle.logs(following));
      // Kill the worker once some of the log has been shipped.
      await vi.waitFor(async () => expect((await collectLines(handle.logs())).length).toBeGreaterThan(50), {
        timeout: 30_000,
        interval: 200,
      });
      await first.stop('SIGKILL');
      const second = spawnOne();
      await second.ready;
      const result = await handle.result();
      expect(result.status).toBe('DONE');
      expect(await containerStarts(result.runId, since)).toBe(1);
      for (const got of [await reading, await collectLines(handle.logs())]) {
        expect(got.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(numbered(400));
        expect(got.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(numbered(200, 'err'));
      }
      await expectNoLeftovers('livelog-host');
    } finally {
      await client.close();
    }
  });
});
