// Whether a container's exit was its engine shutting down (dockerd stops every container as it
// goes): such an end is the engine's doing, and the retry reads it as engine-restarted.
import type { EngineContainer } from './engine.js';
import type { EngineWatch } from './engine-watch.js';

/**
 * dockerd stops every container (SIGTERM, then SIGKILL) when it shuts down, and answers requests
 * meanwhile: the exit looks like a `docker stop`. What tells them apart is that the engine goes
 * away right after, once all its containers have stopped (within its shutdown timeout, 15 s by
 * default, after which it kills what is left and only then closes). So an exit by SIGTERM or
 * SIGKILL that Caisson did not ask for, and that is not an OOM kill, waits this long for the
 * engine's connection to break (a busy host's dockerd was seen to need more than 20 s): only such
 * exits pay this wait. The break is seen however briefly the engine was away.
 */
const ENGINE_SHUTDOWN_WINDOW_MS = 45_000;

export async function stoppedByEngineShutdown(
  container: Pick<EngineContainer, 'inspect'>,
  exitCode: number | undefined,
  engine: EngineWatch,
  epoch: number,
  /** The wait (CAISSON_ENGINE_SHUTDOWN_SECONDS). */
  windowMs = ENGINE_SHUTDOWN_WINDOW_MS,
): Promise<boolean> {
  if (exitCode !== 137 && exitCode !== 143) return false;
  const state = (await container.inspect()).State;
  if (state.OOMKilled) return false;
  const engineBreak = engine.brokenSince(epoch);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      engineBreak.broken.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), windowMs))),
    ]);
  } finally {
    clearTimeout(timer);
    engineBreak.forget();
  }
}
