// Secrets are named in the spec and resolved only here, on the host, at container creation; their
// values never enter the workflow, its history or its result. Source: a folder with one file per
// secret (CAISSON_SECRETS_DIR/NAME), else the worker's environment variable CAISSON_SECRET_NAME.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';

export async function resolveSecrets(
  names: readonly string[],
  secretsDir: string | undefined,
  env: NodeJS.ProcessEnv,
  host: string,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    let value: string | undefined;
    if (secretsDir) {
      try {
        value = (await readFile(join(secretsDir, name), 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    value ??= env[`CAISSON_SECRET_${name}`];
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length) {
    throw ApplicationFailure.create({
      type: 'SecretMissing',
      nonRetryable: true,
      message:
        `secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not configured on host ${host}: ` +
        `add a file per secret under CAISSON_SECRETS_DIR or set CAISSON_SECRET_<NAME> for the worker`,
    });
  }
  return values;
}
