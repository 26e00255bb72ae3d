// A host step that is never cancelled from the workflow: on cancel the workflow asks the host to
// stop the container, and the step then reports how it ended, logs and output included.
import { CancellationScope, isCancellation } from '@temporalio/workflow';

export async function runStoppingOnCancel<T>(
  step: () => Promise<T>,
  stop: () => Promise<void>,
  onCancel: () => void,
): Promise<T> {
  const running = CancellationScope.nonCancellable(step);
  try {
    await Promise.race([running, CancellationScope.current().cancelRequested]);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    onCancel();
    await CancellationScope.nonCancellable(stop);
  }
  return running;
}
