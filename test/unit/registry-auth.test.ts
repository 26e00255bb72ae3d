// Registry credentials from a worker's Docker config, read as the Docker CLI reads them. The
// credential helpers are real programs: small scripts in a temporary directory put first on PATH.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_OUTPUT_LIMIT, registryAuth } from '../../common/templates/registry-auth.js';

const REGISTRY = 'registry.example.com:5000';
const OTHER = 'other.example.com';
const SECRET = 'helper-secret-Zq8v1';
let root: string;
let bin: string;
let savedPath: string | undefined;
let configs = 0;

/** A credential helper `docker-credential-<name>`: a shell script; stdin holds the registry key. */
function helper(name: string, body: string): void {
  const file = join(bin, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\n[ "$1" = get ] || exit 3\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A Docker config directory holding this config.json. */
function configDir(config: unknown): string {
  const dir = join(root, `config-${++configs}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'caisson-registry-auth-'));
  bin = join(root, 'bin');
  mkdirSync(bin);
  savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ''}`;

  // Answers with the registry key it read, so tests see what it was asked.
  helper(
    'echo',
    `read -r key || true\nprintf '{"ServerURL":"%s","Username":"user-for-%s","Secret":"${SECRET}"}' "$key" "$key"`,
  );
  helper(
    'store',
    `read -r key || true\nprintf '{"ServerURL":"%s","Username":"store-user","Secret":"store-secret"}' "$key"`,
  );
  helper('token', `cat >/dev/null\nprintf '{"ServerURL":"x","Username":"<token>","Secret":"identity-token-1"}'`);
  helper('empty', `cat >/dev/null\nprintf '{"ServerURL":"x","Username":"","Secret":""}'`);
  // What docker-credential-helpers prints on a miss: on stdout, exit 1.
  helper('notfound', `cat >/dev/null\necho "credentials not found in native keychain"\nexit 1`);
  helper(
    'broken',
    `cat >/dev/null\necho "fatal: cannot unlock keyring for ${SECRET}"\necho "stderr ${SECRET}" >&2\nexit 2`,
  );
  helper('garbage', `cat >/dev/null\nprintf 'Username=${SECRET}'`);
  helper('partial', `cat >/dev/null\nprintf '{"ServerURL":"x","Username":"u"}'`);
  // Hangs in a child of its own: the timeout must kill the whole process group.
  helper('hang', `sleep 30\necho never`);
  helper('flood', `cat >/dev/null\nyes ${SECRET}`);
});

afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(root, { recursive: true, force: true });
});

describe('auths (docker login without a helper)', () => {
  it('decodes an auth entry by host, and by a legacy URL key', async () => {
    const dir = configDir({
      auths: { [REGISTRY]: { auth: basic('alice', 'pa:ss') }, [`https://${OTHER}/v1/`]: { auth: basic('bob', 'pw') } },
    });
    expect(await registryAuth(REGISTRY, dir)).toEqual({
      username: 'alice',
      password: 'pa:ss',
      serveraddress: REGISTRY,
    });
    expect(await registryAuth(OTHER, dir)).toEqual({ username: 'bob', password: 'pw', serveraddress: OTHER });
    expect(await registryAuth('unknown.example.com', dir)).toBeUndefined();
  });

  it('reads Docker Hub credentials under https://index.docker.io/v1/', async () => {
    const dir = configDir({ auths: { 'https://index.docker.io/v1/': { auth: basic('hubuser', 'hubpw') } } });
    expect(await registryAuth('docker.io', dir)).toEqual({
      username: 'hubuser',
      password: 'hubpw',
      serveraddress: 'docker.io',
    });
  });

  it('passes an identitytoken as the engine identitytoken, without username and password', async () => {
    const dir = configDir({ auths: { [REGISTRY]: { auth: basic('alice', 'pw'), identitytoken: 'refresh-token-7' } } });
    expect(await registryAuth(REGISTRY, dir)).toEqual({ identitytoken: 'refresh-token-7', serveraddress: REGISTRY });
  });

  it('is anonymous without a config file or an entry with credentials', async () => {
    expect(await registryAuth(REGISTRY, join(root, 'no-such-dir'))).toBeUndefined();
    expect(await registryAuth(REGISTRY, configDir({ auths: { [REGISTRY]: {} } }))).toBeUndefined();
  });

  it('refuses an unreadable config without quoting it', async () => {
    const dir = configDir(`{"auths": {"${REGISTRY}": {"auth": "${SECRET}" oops}}}`);
    const err = await registryAuth(REGISTRY, dir).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('not valid JSON');
    expect((err as Error).message).not.toContain(SECRET);
  });
});

describe('credential helpers', () => {
  it('prefers the registry credHelpers entry over credsStore and auths, asking it for the registry host', async () => {
    const dir = configDir({
      credHelpers: { [REGISTRY]: 'echo' },
      credsStore: 'store',
      auths: { [REGISTRY]: { auth: basic('file', 'file') } },
    });
    expect(await registryAuth(REGISTRY, dir)).toEqual({
      username: `user-for-${REGISTRY}`,
      password: SECRET,
      serveraddress: REGISTRY,
    });
  });

  it('uses credsStore for every registry without a credHelpers entry, instead of auths', async () => {
    const dir = configDir({
      credHelpers: { [REGISTRY]: 'echo' },
      credsStore: 'store',
      auths: { [OTHER]: { auth: basic('file', 'file') } },
    });
    expect(await registryAuth(OTHER, dir)).toEqual({
      username: 'store-user',
      password: 'store-secret',
      serveraddress: OTHER,
    });
  });

  it('asks a helper for Docker Hub by https://index.docker.io/v1/', async () => {
    const dir = configDir({ credsStore: 'echo' });
    expect(await registryAuth('docker.io', dir)).toMatchObject({ username: 'user-for-https://index.docker.io/v1/' });
  });

  it('reads auths for a registry whose credHelpers entry is empty', async () => {
    const dir = configDir({
      credHelpers: { [REGISTRY]: '' },
      credsStore: 'store',
      auths: { [REGISTRY]: { auth: basic('file', 'pw') } },
    });
    expect(await registryAuth(REGISTRY, dir)).toEqual({ username: 'file', password: 'pw', serveraddress: REGISTRY });
  });

  it('takes Username "<token>" as an identity token', async () => {
    const dir = configDir({ credHelpers: { [REGISTRY]: 'token' } });
    expect(await registryAuth(REGISTRY, dir)).toEqual({ identitytoken: 'identity-token-1', serveraddress: REGISTRY });
  });

  it('is anonymous when the helper is not installed, has no credentials, or answers empty ones', async () => {
    for (const name of ['not-installed', 'notfound', 'empty']) {
      const dir = configDir({
        credHelpers: { [REGISTRY]: name },
        auths: { [REGISTRY]: { auth: basic('file', 'pw') } },
      });
      expect(await registryAuth(REGISTRY, dir), name).toBeUndefined();
    }
  });

  it('reports a failing helper by name and registry, never with what it printed', async () => {
    const dir = configDir({ credHelpers: { [REGISTRY]: 'broken' } });
    const err = (await registryAuth(REGISTRY, dir).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('docker-credential-broken');
    expect(err.message).toContain(REGISTRY);
    expect(err.message).toContain('exited with code 2');
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain('keyring');
  });

  it('refuses an answer that is not the protocol JSON, without quoting it', async () => {
    for (const name of ['garbage', 'partial']) {
      const dir = configDir({ credHelpers: { [REGISTRY]: name } });
      const err = (await registryAuth(REGISTRY, dir).catch((e: Error) => e)) as Error;
      expect(err, name).toBeInstanceOf(Error);
      expect(err.message).toContain(`docker-credential-${name} for registry ${REGISTRY}`);
      expect(err.message).not.toContain(SECRET);
    }
  });

  it('kills a helper that hangs after the timeout', async () => {
    const dir = configDir({ credsStore: 'hang' });
    const started = Date.now();
    const err = (await registryAuth(REGISTRY, dir, { helperTimeoutMs: 300 }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('docker-credential-hang for registry');
    expect(err.message).toContain('did not answer within 0.3 s');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('kills a helper whose answer exceeds the size cap', async () => {
    const dir = configDir({ credsStore: 'flood' });
    const err = (await registryAuth(REGISTRY, dir).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(`answered more than ${HELPER_OUTPUT_LIMIT / 1024} KiB`);
    expect(err.message).not.toContain(SECRET);
  });

  it('refuses a helper name that is a path', async () => {
    const dir = configDir({ credsStore: '../../bin/sh' });
    await expect(registryAuth(REGISTRY, dir)).rejects.toThrow(/must not contain a path separator/);
  });
});
