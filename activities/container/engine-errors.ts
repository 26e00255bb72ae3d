// How the host reads the engine's failures: its HTTP status, its own message, whether the command
// could not run (a result, like a shell's) or the engine hiccuped (tried again).

/** Engine hiccups (5xx without a command failure) at create or start are tried this often. */
const ENGINE_TRIES = 4;

export function status(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The engine could not run the command: a result like a shell's, not an engine fault. */
export function isCommandFailure(message: string): boolean {
  return /OCI runtime|starting container process|exec:|executable file not found|no such file or directory|permission denied/i.test(
    message,
  );
}

/** Retries a create or start that failed with a transient engine error (5xx that is not about the command). */
export async function withEngineRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let tryNo = 1; ; tryNo++) {
    try {
      return await call();
    } catch (err) {
      const code = status(err) ?? 0;
      const transient = code >= 500 && !isCommandFailure((err as Error).message);
      if (!transient || tryNo >= ENGINE_TRIES) throw err;
      await delay(200 * 2 ** tryNo);
    }
  }
}

/** What the engine said, without dockerode's "(HTTP code 400) unexpected - " preamble. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  const text = json?.message ?? (err as Error).message ?? String(err);
  return text
    .replace(/^\(HTTP code \d+\)[^-]*- /, '')
    .trim()
    .slice(0, 500);
}
