// Registry credentials come from the worker's side only, never from the action spec: a Docker
// config.json (the file `docker login` writes), looked up in $DOCKER_CONFIG or ~/.docker, read the
// way the Docker CLI reads it (cli/config/configfile, cli/config/credentials):
//
// - the store for a registry is its `credHelpers` entry, else `credsStore`, else the file's `auths`
//   (one store only: a helper that knows nothing means an anonymous pull, never a fallback to
//   `auths`; a `credHelpers` entry of "" means `auths` for that registry);
// - a helper is the program `docker-credential-<name>` on PATH, run as `get` with the registry's
//   key on stdin ("https://index.docker.io/v1/" for Docker Hub, the host[:port] otherwise); it
//   prints {"ServerURL","Username","Secret"}, and Username "<token>" means Secret is an identity
//   token; on a miss it exits non-zero saying "credentials not found in native keychain";
// - an `auths` entry holds `auth` (base64 "user:password") and/or `identitytoken`.
//
// A helper is bounded (time and output) and run without a shell. Errors name the helper and the
// registry, never a secret, the config file's content or what the helper printed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The engine's auth object (X-Registry-Auth): a username and password, or an identity token. */
export interface RegistryAuth {
  serveraddress: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface RegistryAuthOptions {
  /** How long a credential helper may take before it is killed (ms). */
  helperTimeoutMs?: number;
}

const HELPER_TIMEOUT_MS = 10_000;
/** A helper's answer is a few hundred bytes; more than this is refused (and the helper killed). */
export const HELPER_OUTPUT_LIMIT = 64 * 1024;

/** The key the Docker CLI stores Docker Hub credentials under, in `auths` and in helpers. */
const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = ['docker.io', 'index.docker.io'];
/** A helper answering this username hands out an identity token as its Secret. */
const TOKEN_USERNAME = '<token>';

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function registryAuth(
  registry: string,
  dockerConfigDir?: string,
  options: RegistryAuthOptions = {},
): Promise<RegistryAuth | undefined> {
  const file = join(dockerConfigDir ?? join(homedir(), '.docker'), 'config.json');
  const config = await readConfig(file);
  if (!config) return undefined;

  const hub = HUB_HOSTS.includes(registry);
  // The key the Docker CLI looks the registry up by: in credHelpers, in auths, and on a helper's stdin.
  const key = hub ? HUB_KEY : registry;
  const helper =
    config.credHelpers && Object.hasOwn(config.credHelpers, key) ? config.credHelpers[key] : config.credsStore;
  if (helper) {
    return helperAuth(helper, key, registry, file, options.helperTimeoutMs ?? HELPER_TIMEOUT_MS);
  }
  return fileAuth(config.auths, key, hub ? HUB_HOSTS : [registry], registry, file);
}

async function readConfig(file: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read registry credentials from ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error, which may be a credential.
    throw new Error(`cannot read registry credentials from ${file}: it is not valid JSON`);
  }
  if (!isObject(parsed)) throw new Error(`cannot read registry credentials from ${file}: it is not a JSON object`);
  const { auths, credHelpers, credsStore } = parsed;
  const invalid = (field: string, expected: string) =>
    new Error(`cannot read registry credentials from ${file}: "${field}" must be ${expected}`);
  if (auths !== undefined && auths !== null && (!isObject(auths) || !Object.values(auths).every(isObject))) {
    throw invalid('auths', 'an object of registry entries');
  }
  if (
    credHelpers !== undefined &&
    credHelpers !== null &&
    (!isObject(credHelpers) || !Object.values(credHelpers).every((name) => typeof name === 'string'))
  ) {
    throw invalid('credHelpers', 'an object of registry → helper name');
  }
  if (credsStore !== undefined && credsStore !== null && typeof credsStore !== 'string') {
    throw invalid('credsStore', 'a helper name');
  }
  return {
    auths: (auths ?? undefined) as DockerConfigFile['auths'],
    credHelpers: (credHelpers ?? undefined) as DockerConfigFile['credHelpers'],
    credsStore: (credsStore ?? undefined) as string | undefined,
  };
}

/** The registry host of an `auths` key, which may be a URL ("https://host:5000/v1/"), as the CLI converts it. */
function hostOf(key: string): string {
  if (key.includes('://')) {
    try {
      const url = new URL(key);
      if (url.host) return url.host;
    } catch {
      // not a URL: fall through to the part before the first slash
    }
  }
  return key.split('/')[0]!;
}

function fileAuth(
  auths: Record<string, AuthEntry> | undefined,
  key: string,
  hosts: readonly string[],
  registry: string,
  file: string,
): RegistryAuth | undefined {
  if (!auths) return undefined;
  // The exact key first, then a legacy key that names the same host (a URL with scheme or path).
  const found = Object.hasOwn(auths, key) ? key : Object.keys(auths).find((k) => hosts.includes(hostOf(k)));
  if (found === undefined) return undefined;
  const entry = auths[found]!;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { identitytoken: entry.identitytoken, serveraddress: registry };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new Error(
        `cannot read registry credentials from ${file}: the "auth" of auths["${found}"] is not base64 of "username:password"`,
      );
    }
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1).replace(/\0+$/, ''),
      serveraddress: registry,
    };
  }
  if (typeof entry.username === 'string' && entry.username && typeof entry.password === 'string' && entry.password) {
    return { username: entry.username, password: entry.password, serveraddress: registry };
  }
  return undefined;
}

async function helperAuth(
  name: string,
  key: string,
  registry: string,
  file: string,
  timeoutMs: number,
): Promise<RegistryAuth | undefined> {
  // The name is a suffix, never a path: docker-credential-<name> is looked up on PATH only.
  if (/[/\\\0]/.test(name)) {
    throw new Error(
      `cannot read registry credentials from ${file}: credential helper name "${name}" for ${registry} must not contain a path separator`,
    );
  }
  const program = `docker-credential-${name}`;
  const answer = await runHelper(program, key, registry, timeoutMs);
  if (answer === undefined) return undefined;

  const fail = (what: string) => new Error(`credential helper ${program} for registry ${registry} ${what}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    throw fail('answered something that is not JSON (the answer is not shown: it may hold secrets)');
  }
  if (!isObject(parsed) || typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string') {
    throw fail('answered JSON without the string fields "Username" and "Secret" of the credential-helper protocol');
  }
  if (parsed.Secret === '') return undefined;
  if (parsed.Username === TOKEN_USERNAME) return { identitytoken: parsed.Secret, serveraddress: registry };
  return { username: parsed.Username, password: parsed.Secret, serveraddress: registry };
}

/**
 * Runs `<program> get` with `key` on stdin, without a shell, in a process group of its own (so that
 * a timeout kills whatever it started too). Resolves with its stdout, or undefined when the helper
 * is not installed or has no credentials for the registry.
 */
function runHelper(program: string, key: string, registry: string, timeoutMs: number): Promise<string | undefined> {
  const fail = (what: string) => new Error(`credential helper ${program} for registry ${registry} ${what}`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    let settled = false;
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';

    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const finish = (err: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      kill();
      finish(fail(`did not answer within ${timeoutMs / 1000} s and was killed`));
    }, timeoutMs);

    child.on('error', (err: NodeJS.ErrnoException) => {
      kill();
      // Not installed: like a helper without credentials for this registry, the pull is anonymous.
      if (err.code === 'ENOENT') finish(undefined, undefined);
      else finish(fail(`could not be run: ${err.code ?? err.message}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > HELPER_OUTPUT_LIMIT) {
        kill();
        finish(fail(`answered more than ${HELPER_OUTPUT_LIMIT / 1024} KiB and was killed`));
      } else {
        stdout.push(chunk);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      // Kept only to recognise "credentials not found"; never shown.
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('close', (code, signal) => {
      const out = Buffer.concat(stdout).toString('utf8');
      if (code === 0) return finish(undefined, out);
      if (/credentials not found/i.test(out) || /credentials not found/i.test(stderr))
        return finish(undefined, undefined);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      finish(
        fail(
          `${how} (its output is not shown, as it may hold secrets; run \`printf %s '${key}' | ${program} get\` as the worker's user to see it)`,
        ),
      );
    });
    // A helper that exits without reading its stdin must not crash the worker with EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(key);
  });
}
