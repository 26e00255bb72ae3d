// Secrets are named in the spec and resolved only here, on the host, at container creation; their
// values never enter the workflow, its history or its result. Source: a folder with one file per
// secret (CAISSON_SECRETS_DIR/NAME), else the worker's environment variable CAISSON_SECRET_NAME.
// No message here ever holds a value: only names, and what was wrong.
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { relative } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { insideRoot, PathOutsideRoot } from './contained-path.js';
import { MIN_SECRET } from '../logs/redaction.js';
import { refusedByHost } from './refused.js';
import { FailureType } from '../../spec/failures.js';

/** A secret file larger than this is a mistake (a folder of logs, a device), not a key or token. */
export const MAX_SECRET_BYTES = 1 << 20;
/** Most secrets are a line: read in small pieces, not a whole MiB buffer each. */
const READ_PIECE = 16 << 10;

export async function resolveSecrets(
  names: readonly string[],
  secretsDir: string | undefined,
  env: NodeJS.ProcessEnv,
  host: string,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  const short: string[] = [];
  for (const name of names) {
    const value =
      (secretsDir ? await secretFromDir(secretsDir, name, host) : undefined) ?? env[`CAISSON_SECRET_${name}`];
    if (value === undefined) missing.push(name);
    // Redaction cannot mask so short a value without masking ordinary words, so it would reach the
    // logs as is: the host does not give it at all.
    else if (value.length < MIN_SECRET) short.push(name);
    else values[name] = value;
  }
  if (missing.length || short.length) throw secretMissing(missing, short, host);
  return values;
}

function secretMissing(missing: string[], short: string[], host: string): ApplicationFailure {
  const named = (list: string[]) => `secret${list.length > 1 ? 's' : ''} ${list.join(', ')}`;
  const problems: string[] = [];
  if (missing.length) {
    problems.push(
      `${named(missing)} not configured on host ${host}: ` +
        `add a file per secret under CAISSON_SECRETS_DIR or set CAISSON_SECRET_<NAME> for the worker`,
    );
  }
  if (short.length) {
    problems.push(
      `${named(short)} on host ${host} ${short.length > 1 ? 'are' : 'is'} under ${MIN_SECRET} characters, ` +
        `too short to be masked in the container's output: give ${short.length > 1 ? 'them' : 'it'} a longer value`,
    );
  }
  return ApplicationFailure.create({
    type: FailureType.SecretMissing,
    nonRetryable: true,
    message: problems.join('; '),
  });
}

/**
 * The secret's file in the folder, undefined when there is none. The name is checked where it is
 * joined (the spec's schema allows no "/" or "..", but a bug elsewhere must not read any file of
 * the host), and the file is followed through links only as far as the folder: Kubernetes mounts a
 * secret as NAME -> ..data/NAME, inside it; a link to /etc/shadow is refused.
 */
async function secretFromDir(dir: string, name: string, host: string): Promise<string | undefined> {
  let path: string;
  try {
    path = insideRoot(dir, name);
  } catch (err) {
    if (err instanceof PathOutsideRoot) throw refusedByHost(host, 'secrets', `secret name ${err.message}`);
    throw err;
  }
  const real = await realpathOrMissing(path);
  if (real === undefined) return undefined;
  if (!inside(await realpath(dir), real)) {
    throw refusedByHost(host, 'secrets', `the file of secret ${name} is a link that leads outside the secrets folder`);
  }
  return readSecretFile(real, name, host);
}

async function realpathOrMissing(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    // No file (or a link to none): the secret may come from the environment instead.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether `path` (resolved) is strictly inside `root` (resolved): the same test as insideRoot's. */
function inside(root: string, path: string): boolean {
  try {
    insideRoot(root, relative(root, path));
    return true;
  } catch (err) {
    if (err instanceof PathOutsideRoot) return false;
    throw err;
  }
}

/**
 * A regular file's text, read up to MAX_SECRET_BYTES. Opened without following a link (`real` has
 * none left, and one put there since is refused) and without waiting on a FIFO's writer.
 */
async function readSecretFile(real: string, name: string, host: string): Promise<string> {
  const file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP')
        throw refusedByHost(host, 'secrets', `the file of secret ${name} was replaced by a link while it was read`);
      throw err;
    },
  );
  try {
    if (!(await file.stat()).isFile())
      throw refusedByHost(host, 'secrets', `the file of secret ${name} is not a regular file`);
    const data = await readAtMost(file, MAX_SECRET_BYTES + 1);
    if (data.length > MAX_SECRET_BYTES) {
      throw refusedByHost(host, 'secrets', `the file of secret ${name} is larger than ${MAX_SECRET_BYTES} bytes`);
    }
    // The newline an editor or `echo >` leaves at the end is not part of the value.
    return data.toString('utf8').replace(/\r?\n$/, '');
  } finally {
    await file.close();
  }
}

/** Up to `limit` bytes from the start, a piece at a time: never more, whatever the file's size. */
async function readAtMost(file: FileHandle, limit: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const { bytesRead, buffer } = await file.read(
      Buffer.alloc(Math.min(READ_PIECE, limit - total)),
      0,
      undefined,
      total,
    );
    if (bytesRead === 0) break;
    pieces.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
  }
  return Buffer.concat(pieces, total);
}
