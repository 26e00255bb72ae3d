// The `caisson` command as users run it: the built binary, on the suite's queue unless told otherwise.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url));

export function caisson(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return caissonWith({}, ...args);
}

export function caissonWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue'), ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
