// Runs the host's own commands (mkfs.ext4, mount, umount) in a small helper process instead of
// forking the worker for each: a fork costs in proportion to the forking process's memory, and the
// worker's main thread was blocked ~6 ms per command (three per action; measured with the CPU
// profile in bench/RESULTS.md). The helper is started at the first command and again after it
// died; a command it was running when it died fails, and the caller's step is retried as any
// failed command's would be.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CommandCall {
  id: number;
  command: string;
  args: string[];
  timeoutMs: number;
}

export type CommandAnswer =
  | { id: number; ok: true; stdout: string; stderr: string }
  | { id: number; ok: false; message: string; stderr: string; code?: number; killed?: boolean };

/** What a failed command says: its error output, else why it did not run. */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'CommandFailed';
  }
}

// Built (.js next to this file) or run from the sources (.ts, tests under tsx): the child is the sibling.
const here = fileURLToPath(import.meta.url);
const childPath = here.replace(/command-helper\.(ts|js)$/, 'command-helper-child.$1');

export class CommandHelper {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (a: CommandAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  /** Runs `command args` (no shell); bounded by `timeoutMs`, in the helper and here. */
  async run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
    // No program can receive a NUL (the path or argument would end there, naming something else):
    // refused here, before it reaches the helper, whose execFile would throw on it.
    if ([command, ...args].some((a) => a.includes('\0')))
      throw new CommandFailed(`${command}: an argument contains a NUL character; not run`, '');
    const id = this.nextId++;
    const child = this.helper();
    const answer = await new Promise<CommandAnswer>((resolve, reject) => {
      // The helper kills the command at timeoutMs; this bounds a helper that stopped answering.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandFailed(`${command} did not finish within ${timeoutMs} ms`, ''));
      }, timeoutMs + 5_000);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      child.send({ id, command, args, timeoutMs } satisfies CommandCall, (err) => {
        if (err)
          this.settle(
            id,
            undefined,
            new CommandFailed(`${command} could not be handed to the command helper: ${err.message}`, ''),
          );
      });
    });
    if (!answer.ok) throw new CommandFailed(answer.message, answer.stderr, answer.code);
    return { stdout: answer.stdout, stderr: answer.stderr };
  }

  /** Stops the helper (a stopping worker); commands still running fail. */
  close(): void {
    this.child?.kill();
    this.child = undefined;
  }

  private helper(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    if (!existsSync(childPath)) throw new Error(`the command helper ${childPath} is missing (build the worker again)`);
    // tsx runs the .ts child when the parent runs from the sources; built workers run plain node.
    const child = fork(childPath, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: childPath.endsWith('.ts') ? ['--import', 'tsx'] : [],
    });
    child.on('message', (answer: CommandAnswer) => this.settle(answer.id, answer));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.pending.keys()])
        this.settle(
          id,
          undefined,
          new CommandFailed(`the command helper stopped (${signal ?? `exit ${code}`}) while a command ran`, ''),
        );
    });
    // The helper must not keep a stopping worker alive, nor its IPC channel.
    child.unref();
    (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
    this.child = child;
    return child;
  }

  private settle(id: number, answer?: CommandAnswer, err?: Error): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (answer) waiting.resolve(answer);
    else waiting.reject(err!);
  }
}
