// How much of a container's log the engine keeps: read by the create phase (the log driver's
// settings), by collection (which reads the rotated files) and by the policy (its bounds).
import type { Action } from '../../spec/action.js';

/**
 * The engine keeps at most `resources.logSize` of a container's log (512 MiB without one), whatever
 * it prints: the `local` driver (the log's own bytes plus a few per line, unlike json-file's
 * several times that) in this many rotating files.
 */
export const ENGINE_LOG_FILES = 8;
export const DEFAULT_LOG_SIZE = 512 * 2 ** 20;
/** The size of one of the engine's rotating log files for this spec. */
export const engineLogFileBytes = (spec: Pick<Action, 'resources'>) =>
  Math.floor((spec.resources.logSize ?? DEFAULT_LOG_SIZE) / ENGINE_LOG_FILES);
