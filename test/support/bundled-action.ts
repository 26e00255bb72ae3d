// The bundled GitHub Action (dist/index.js) run as the runner runs it: under Node 24, its inputs as
// INPUT_<NAME> variables, its outputs, state and summary in files named by GITHUB_* variables, and
// nothing else of this process's environment but PATH.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { env } from './env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const node24 = () => join(env('NODE24_BIN'), 'node');

export const inputVars = (inputs: Record<string, string>) =>
  Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));

/** The name<<delimiter / value / delimiter records @actions/core appends to GITHUB_OUTPUT and GITHUB_STATE. */
export const records = (text: string) =>
  Object.fromEntries([...text.matchAll(/^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1]!, m[3]!]));

/** Runs dist/index.js with exactly `vars` (and PATH) in its environment. */
export function runDist(vars: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(node24(), [join(ROOT, 'dist/index.js')], { env: { PATH: process.env.PATH, ...vars } }, (error, out) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out }),
    ),
  );
}

/** The runner's command files in `dir`, empty: GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY. */
export function runnerFiles(dir: string): { GITHUB_OUTPUT: string; GITHUB_STATE: string; GITHUB_STEP_SUMMARY: string } {
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  return files;
}
