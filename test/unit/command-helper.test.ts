// The helper process that runs the host's commands (mkfs, mount, umount) for the worker: results,
// failures with their error output, bounded time, no shell, and a helper that died replaced.
import { describe, expect, it } from 'vitest';
import { CommandFailed, CommandHelper } from '../../activities/disks/command-helper.js';

describe('the command helper', () => {
  it('runs a program with its arguments as they are, never through a shell', async () => {
    const helper = new CommandHelper();
    try {
      expect(await helper.run('echo', ['$(id)', '`id`', "'; true"], 5_000)).toEqual({
        stdout: "$(id) `id` '; true\n",
        stderr: '',
      });
    } finally {
      helper.close();
    }
  });

  it('fails with the exit code and error output of a failed command, and when it outlasts its time', async () => {
    const helper = new CommandHelper();
    try {
      const failed = await helper.run('sh', ['-c', 'echo no room >&2; exit 3'], 5_000).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(CommandFailed);
      expect(failed).toMatchObject({ code: 3, stderr: 'no room\n' });
      const started = Date.now();
      const slow = await helper.run('sleep', ['10'], 300).catch((e: unknown) => e);
      expect(slow).toBeInstanceOf(CommandFailed);
      expect(Date.now() - started).toBeLessThan(5_000);
      // Still answering after both.
      expect((await helper.run('echo', ['after'], 5_000)).stdout).toBe('after\n');
    } finally {
      helper.close();
    }
  });

  it('fails the command a dying helper ran, and starts a new helper for the next one', async () => {
    const helper = new CommandHelper();
    try {
      const running = helper.run('sleep', ['10'], 20_000);
      // The helper is up (it answered), then it dies while `sleep` runs.
      await expect(helper.run('true', [], 5_000)).resolves.toBeDefined();
      helper.close();
      await expect(running).rejects.toThrow(/command helper stopped/);
      expect((await helper.run('echo', ['again'], 5_000)).stdout).toBe('again\n');
    } finally {
      helper.close();
    }
  });
});
