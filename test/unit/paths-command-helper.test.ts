// The host's commands (command-helper.ts and its child) with a path no program can receive: a NUL
// is refused before it reaches the helper, and a helper sent one anyway answers with a failure
// instead of dying (and failing every other command it ran).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommandFailed, CommandHelper, type CommandAnswer } from '../../activities/disks/command-helper.js';

const CHILD = fileURLToPath(new URL('../../activities/disks/command-helper-child.ts', import.meta.url));

describe('the command helper and a NUL', () => {
  it('refuses an argument with NUL without running it, and still runs the next command', async () => {
    const helper = new CommandHelper();
    try {
      const refused = await helper.run('umount', ['/var/lib/disks/x\0/../../etc'], 5_000).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CommandFailed);
      expect((refused as Error).message).toMatch(/NUL character; not run/);
      expect((await helper.run('echo', ['after'], 5_000)).stdout).toBe('after\n');
    } finally {
      helper.close();
    }
  });

  it('the child answers a command it cannot run with a failure, and goes on', async () => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--import', 'tsx'] });
    try {
      const answers: CommandAnswer[] = [];
      child.on('message', (a: CommandAnswer) => answers.push(a));
      child.send({ id: 1, command: 'echo', args: ['a\0b'], timeoutMs: 5_000 });
      child.send({ id: 2, command: 'echo', args: ['still here'], timeoutMs: 5_000 });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`answers: ${JSON.stringify(answers)}`)), 10_000);
        const check = () => {
          if (answers.length < 2) return;
          clearTimeout(timer);
          resolve();
        };
        child.on('message', check);
        child.once('exit', (code) => reject(new Error(`the helper exited (${code})`)));
      });
      expect(answers.find((a) => a.id === 1)).toMatchObject({
        ok: false,
        message: expect.stringMatching(/null bytes|NUL|\\u0000/i),
      });
      expect(answers.find((a) => a.id === 2)).toMatchObject({ ok: true, stdout: 'still here\n' });
    } finally {
      child.kill();
    }
  });
});
