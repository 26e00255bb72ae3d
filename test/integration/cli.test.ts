// The `caisson` command as users run it: the built binary, its output and its exit codes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { env } from '../support/env.js';
import { caisson, CLI } from '../support/cli.js';

/** The CLI with `input` on its stdin and Temporal out of reach: only what it checks itself answers. */
function offline(input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

describe('caisson --help and --version', () => {
  it('gives each command its own help, with its flags and examples, exiting 0', async () => {
    const help = await caisson('run', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--memory', '-e, --env', '--entrypoint', '-d, --detach', '--pretty', 'Examples:', 'Exit codes'])
      expect(help.stdout).toContain(flag);
    const hostList = await caisson('host', 'list', '--help');
    expect(hostList.code).toBe(0);
    expect(hostList.stdout).toContain('-o, --output <format>');
  });

  it("prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await caisson('--version')).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('caisson run', () => {
  it('with --pretty prints the log as it runs, marked, and the result, exiting 0 for DONE', async () => {
    const { code, stdout, stderr } = await caisson(
      'run',
      '--pretty',
      '--memory',
      '32Mi',
      '--env',
      'WHO=cli',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo "hi $WHO"; echo a > /out/a.txt',
    );
    expect(code).toBe(0);
    expect(stderr).toContain('| hi cli');
    expect(stdout).toMatch(/^DONE {2}exited 0/);
    expect(stdout).toMatch(/out\/a\.txt \(2 B\)/);
    expect(stdout).toContain('http://127.0.0.1:8233/namespaces/default/workflows/');
  });

  it('runs a gang with --replicas, following replica 0 and listing every replica', async () => {
    const { code, stdout, stderr } = await caisson(
      'run',
      '--replicas',
      '2',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo "rank $RANK of $WORLD_SIZE"',
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('rank 0 of 2\n');
    expect(stderr).toMatch(/^DONE {2}all 2 replicas exited 0/m);
    expect(stderr).toMatch(/replica 0 +DONE +\S+-replica-0 on /);
    expect(stderr).toMatch(/replica 1 +DONE +\S+-replica-1 on /);
  });

  it('exits with the container exit code when it FAILED, and --json prints only the result', async () => {
    const { code, stdout } = await caisson('run', '--json', env('TEST_IMAGE_BUSYBOX'), '--', 'sh', '-c', 'exit 3');
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'FAILED', exitCode: 3 });
  });

  it('exits 125 with every problem named for an invalid spec or bad usage', async () => {
    const bad = await caisson('run', '--memory', '512m', '--timeout', 'soon', env('TEST_IMAGE_BUSYBOX'));
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('resources.memory');
    expect(bad.stderr).toContain('"512Mi"');
    expect(bad.stderr).toContain('timeout');
    const usage = await caisson('run', '--env', 'NOEQUALS', env('TEST_IMAGE_BUSYBOX'));
    expect(usage.code).toBe(125);
    expect(usage.stderr).toContain('KEY=VALUE');
    expect((await caisson('frobnicate')).code).toBe(125);
  });

  it('writes the container stdout to stdout and its stderr to stderr, unprefixed; the summary to stderr', async () => {
    const { code, stdout, stderr } = await caisson(
      'run',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      `echo '{"a":1}'; echo oops >&2`,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ a: 1 });
    expect(stderr).toMatch(/^oops$/m);
    expect(stderr).toMatch(/^DONE {2}exited 0/m);
    expect(stderr).toMatch(/^caisson: action-\S+ (waiting|pulling|running)/m);
  });

  it('runs --entrypoint PROG with the words after "--" as its arguments', async () => {
    const run = await caisson('run', '--entrypoint', '/bin/echo', env('TEST_IMAGE_BUSYBOX'), '--', 'hi', 'there');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('hi there\n');
  });

  it("exits as docker run: the container's code, 127 for a missing program, 125 for a bad flag", async () => {
    expect((await caisson('run', env('TEST_IMAGE_BUSYBOX'), '--', 'sh', '-c', 'exit 3')).code).toBe(3);
    const missing = await caisson('run', env('TEST_IMAGE_BUSYBOX'), '--', 'no-such-program');
    expect(missing.code).toBe(127);
    const flag = await caisson('run', '--frobnicate', env('TEST_IMAGE_BUSYBOX'));
    expect(flag.code).toBe(125);
    expect(flag.stderr).toBe("caisson: unknown option '--frobnicate' (see 'caisson run --help')\n");
  });

  it('names a bad spec, from flags or from stdin (-f -), before connecting to Temporal', async () => {
    const flags = await offline('', 'run', '-m', '512m', env('TEST_IMAGE_BUSYBOX'), '--', 'true');
    expect(flags.code).toBe(125);
    expect(flags.stderr).toContain('resources.memory');
    expect(flags.stderr).not.toContain('cannot connect to Temporal');
    const stdin = await offline(`image: ${env('TEST_IMAGE_BUSYBOX')}\ntimeout: soon\n`, 'run', '-f', '-');
    expect(stdin.code).toBe(125);
    expect(stdin.stderr).toContain('timeout:');
    expect(stdin.stderr).not.toContain('cannot connect to Temporal');
    // A good spec does get as far as connecting: the checks above answered first.
    const good = await offline(`image: ${env('TEST_IMAGE_BUSYBOX')}\n`, 'run', '-f', '-');
    expect(good.code).toBe(125);
    expect(good.stderr).toContain('cannot connect to Temporal at 127.0.0.1:1');
  });

  it('detaches, then status, logs, result, list and cancel work by id', async () => {
    const started = await caisson(
      'run',
      '--detach',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo working; echo x > /out/x; sleep 300',
    );
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^action-/);
    await expect
      .poll(async () => JSON.parse((await caisson('status', id, '--json')).stdout).phase, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe('RUNNING');
    await expect
      .poll(async () => (await caisson('logs', id)).stdout, { timeout: 15_000, interval: 200 })
      .toContain('working');
    expect((await caisson('cancel', id)).code).toBe(0);
    const result = await caisson('result', id, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'CANCELED', artifacts: [{ path: 'x' }] });
    expect((await caisson('status', id, '-o', 'name')).stdout).toBe(`${id}\n`);
    await expect
      .poll(
        async () => {
          const listed: { actionId: string }[] = JSON.parse(
            (await caisson('list', '--status', 'CANCELED', '--since', '10m', '--json')).stdout,
          );
          return listed.find((r) => r.actionId === id);
        },
        { timeout: 15_000, interval: 300 },
      )
      .toMatchObject({ status: 'CANCELED' });
  });

  it('labels actions with -l and finds them by label with list -l, wide output showing the labels', async () => {
    const team = `cli-${randomUUID().slice(0, 8)}`;
    const start = (exp: string) =>
      caisson(
        'run',
        '-d',
        '-l',
        `team=${team},exp=${exp}`,
        '--annotation',
        'note=a, b',
        env('TEST_IMAGE_BUSYBOX'),
        '--',
        'true',
      );
    const [one, two] = await Promise.all([start('1'), start('2')]);
    expect([one.code, two.code]).toEqual([0, 0]);
    const ids = [one.stdout.trim(), two.stdout.trim()];
    // Visibility lags the start by a moment: looked at until both are listed.
    await expect
      .poll(
        async () =>
          (await caisson('list', '-l', `team=${team}`, '-o', 'name')).stdout.split('\n').filter(Boolean).sort(),
        {
          timeout: 15_000,
          interval: 300,
        },
      )
      .toEqual([...ids].sort());
    const second = await caisson('list', '-l', `team=${team}`, '--label', 'exp=2', '-o', 'wide');
    expect(second.code).toBe(0);
    const rows = second.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/\bLABELS\b/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual([ids[1]]);
    expect(rows[1]).toContain(`exp=2,team=${team}`);
    const status = JSON.parse((await caisson('status', ids[0]!, '--json')).stdout) as { annotations?: object };
    expect(status.annotations).toEqual({ note: 'a, b' });
    expect((await caisson('list', '-l', 'team')).stderr).toMatch(/--label "team": write LABEL=VALUE/);
  });

  it('runs a sweep from flags: --objective picks the best child, and a bad objective is named', async () => {
    // loss = (i - 7)² + 3: child 7 is the best of 12, at 3.
    const loss = 'i=$ACTION_INDEX; echo "{\\"loss\\": $(( (i - 7) * (i - 7) + 3 ))}"';
    const { code, stdout } = await caisson(
      'run',
      '--json',
      '--output',
      'json',
      '--array-count',
      '12',
      '--parallelism',
      '4',
      '--objective',
      '/loss:minimize',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      loss,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'DONE', best: { index: 7, value: 3 } });
    const bad = await caisson('run', '--array-count', '2', '--objective', '/loss', env('TEST_IMAGE_BUSYBOX'));
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/--objective \/loss: write POINTER:minimize or POINTER:maximize/);
    expect((await caisson('run', '--early-stop', '3', env('TEST_IMAGE_BUSYBOX'))).stderr).toMatch(
      /--early-stop: array flags, with --array-count or --array-items/,
    );
  });
});
