// The exit codes of `caisson`, as `docker run` has them: a script can tell the container's own
// failure from the CLI's and from a command that could not start.
import type { ActionResult } from '../client/index.js';

export const EXIT = {
  done: 0,
  /** The action was canceled, or ended FAILED although its container exited 0 (its output was refused). */
  other: 1,
  /** The CLI's own failures: usage, spec, connection; and an action that failed before any container ran. */
  cli: 125,
} as const;

export const EXIT_CODES_HELP = `Exit codes (as docker run):
  0     the action is DONE
  N     the container's exit code when it ran and failed (137 after an OOM kill or a stop)
  126   the container's command could not be run (not executable)
  127   the container's command was not found in the image
  125   caisson itself failed (usage, invalid spec, connection), or the action failed before a
        container ran (image not found, no host fits, refused by policy)
  1     the action was canceled, or failed although its container exited 0 (output refused)`;

/** The exit code an ended action stands for; 126 and 127 are the container's (a failed start). */
export function exitCodeFor(result: Pick<ActionResult, 'status' | 'exitCode'>): number {
  if (result.status === 'DONE') return EXIT.done;
  if (result.status === 'CANCELED') return EXIT.other;
  if (result.exitCode === null || result.exitCode === undefined) return EXIT.cli;
  return result.exitCode || EXIT.other;
}
