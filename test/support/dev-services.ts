// The dev environment's own servers (scripts/dev-env), taken down by a test and brought back the
// way an operator would: a process killed or stopped, then `scripts/dev-env up`, which starts what
// is not running on the same data.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, vi } from 'vitest';
import { processGone } from '../../harness/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = join(process.env.CAISSON_DEV_HOME ?? join(homedir(), '.caisson-dev'), 'run');

export type DevService = 'temporal' | 'minio' | 'registry';

function pidOf(service: DevService): number {
  const pid = Number(readFileSync(join(RUN, `${service}.pid`), 'utf8').split('\n')[0]);
  if (!pid) throw new Error(`no pid in ${RUN}/${service}.pid`);
  return pid;
}

/** Sends the service `signal` and waits (bounded) until its process is gone. */
export async function takeDown(service: DevService, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const pid = pidOf(service);
  process.kill(pid, signal);
  await vi.waitFor(() => expect(processGone(pid)).toBe(true), { timeout: 30_000, interval: 50 });
}

/** Starts what is not running again (scripts/dev-env up waits until each answers). */
export async function bringBack(): Promise<void> {
  await promisify(execFile)(join(ROOT, 'scripts/dev-env'), ['up'], { cwd: ROOT, timeout: 120_000 });
}
