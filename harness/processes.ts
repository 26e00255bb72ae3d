// Whether a process has ended, for tests and harness code that kill processes they did not spawn.
import { readFileSync } from 'node:fs';

/**
 * True once `pid` is gone or a zombie: orphans are not always reaped here (this machine's init does
 * not), so a killed process can linger as a zombie that kill(0) still finds.
 */
export function processGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] === 'Z';
  } catch {
    return true;
  }
}
