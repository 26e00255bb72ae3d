// The container's own filesystem, where the engine cannot bound it: its writable layer is sampled
// while it runs and the container stopped (then killed) past its budget, as a kubelet evicts a pod
// for its ephemeral storage.
import type { EngineContainer } from './engine.js';

/** What the sampling asks of the container. */
export type RootfsTarget = Pick<EngineContainer, 'inspect' | 'stop' | 'kill'>;

/**
 * The writable layer is measured this often while the container runs (the engine walks the layer
 * to answer, `docker ps --size`): a kubelet checks ephemeral storage about as often.
 */
export const ROOTFS_SAMPLE_MS = 2000;

/** Once the container was asked to stop, whether it still writes is looked at sooner. */
export const ROOTFS_STOPPING_SAMPLE_MS = 500;

/** Waits after a sample that took `tookMs`: the engine spends at most a tenth of its time walking a big layer. */
export const nextRootfsSample = (tookMs: number, stopping = false): number =>
  Math.max(stopping ? ROOTFS_STOPPING_SAMPLE_MS : ROOTFS_SAMPLE_MS, 10 * tookMs);

/**
 * What a sample of the layer's size calls for. Over the budget the container is stopped with the
 * spec's grace, to end as it would at its deadline; one that goes on writing during the grace
 * (each sample larger than the last) is killed: the grace is for finishing, not for filling the host.
 */
export function rootfsVerdict(bytes: number, budget: number, lastAfterStop?: number): 'ok' | 'stop' | 'kill' {
  if (lastAfterStop !== undefined) return bytes > lastAfterStop ? 'kill' : 'ok';
  return bytes > budget ? 'stop' : 'ok';
}

/** The size of the container's writable layer, as the engine measures it; undefined when it cannot say. */
async function layerBytes(container: RootfsTarget): Promise<number | undefined> {
  const info = await container.inspect({ size: true }).catch(() => undefined);
  return typeof info?.SizeRw === 'number' ? info.SizeRw : undefined;
}

/**
 * Measures the container's own filesystem while it runs and stops it once it holds more than
 * `budget` (`over.bytes` set then): where the engine cannot bound it, as a kubelet evicts a pod
 * for its ephemeral storage. One sample at a time; the returned function ends the sampling.
 */
export function watchRootfs(
  container: RootfsTarget,
  budget: number,
  graceSeconds: number,
  over: { bytes?: number },
): () => void {
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let lastAfterStop: number | undefined;
  const sample = async () => {
    const began = Date.now();
    const bytes = await layerBytes(container);
    if (ended) return;
    const verdict = bytes === undefined ? 'ok' : rootfsVerdict(bytes, budget, lastAfterStop);
    if (verdict !== 'ok') {
      over.bytes = Math.max(over.bytes ?? 0, bytes!);
      // Ended meanwhile (304, 404): its layer is judged again at the end.
      (verdict === 'stop' ? container.stop({ t: graceSeconds }) : container.kill()).catch(() => {});
    }
    if (verdict !== 'ok' || lastAfterStop !== undefined) lastAfterStop = bytes ?? lastAfterStop;
    timer = setTimeout(() => void sample(), nextRootfsSample(Date.now() - began, lastAfterStop !== undefined));
  };
  timer = setTimeout(() => void sample(), ROOTFS_SAMPLE_MS);
  return () => {
    ended = true;
    clearTimeout(timer);
  };
}

/**
 * The container's own filesystem went over its budget: it was stopped for that while it ran
 * (`sampled`), or it held more than the budget when it ended (a writer faster than the samples).
 */
export function overBudget(
  budget: number,
  sampled: number | undefined,
  atEnd: number | undefined,
): { bytes: number; budget: number } | undefined {
  const bytes = Math.max(sampled ?? 0, atEnd ?? 0);
  return sampled !== undefined || bytes > budget ? { bytes, budget } : undefined;
}
