// The helper process of command-helper.ts: runs each command it is sent (a program and its
// arguments, never through a shell) and answers with how it ended. It stays small, so the fork
// behind each command is cheap; the worker itself forks nothing per action.
import { execFile } from 'node:child_process';
import type { CommandAnswer, CommandCall } from './command-helper.js';

process.on('message', (call: CommandCall) => {
  try {
    execFile(call.command, call.args, { timeout: call.timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const answer: CommandAnswer = err
        ? {
            id: call.id,
            ok: false,
            message: err.message,
            stderr: String(stderr ?? ''),
            code: typeof err.code === 'number' ? err.code : undefined,
            killed: err.killed,
          }
        : { id: call.id, ok: true, stdout: String(stdout), stderr: String(stderr) };
      process.send?.(answer);
    });
  } catch (err) {
    // An argument execFile refuses outright (a NUL): that command fails, the helper and the
    // commands it runs for others go on.
    process.send?.({ id: call.id, ok: false, message: (err as Error).message, stderr: '' } satisfies CommandAnswer);
  }
});
// The worker went away: nothing is left to answer.
process.on('disconnect', () => process.exit(0));
