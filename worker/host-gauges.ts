// The gauges of this host's state, read from what the worker knows in memory (no engine call, so
// they can be sampled often): what it gives actions, held and free (cpu, memory, disk budgets,
// GPUs), its slots, whether its engine answers and whether it is ready for work (readiness.ts).
// Alerts read them: a host whose slots stay full, an engine away.
import type { HostCapacity } from '../activities/placement/capacity.js';
import type { Metrics } from '../activities/metrics.js';
import type { Readiness } from './readiness.js';

const SAMPLE_EVERY_MS = 5_000;

/** Sets the gauges now and then every few seconds until the returned function is called. */
export function startHostGauges(
  capacity: HostCapacity,
  readiness: Readiness,
  host: string,
  metrics: Metrics,
): () => void {
  const sample = () => {
    metrics.capacity.set(capacity.capacity, { host });
    metrics.capacityInUse.set(capacity.inUse(), { host });
    metrics.engineUp.set(readiness.engineAnswering() ? 1 : 0, { host });
    metrics.workerReady.set(readiness.ready().ok ? 1 : 0, { host });
    const held = capacity.inUseHeld();
    const { totals } = capacity;
    const pairs: [Metrics['hostCpuMillis'], number, number][] = [
      [metrics.hostCpuMillis, Math.round(held.cpu * 1000), totals.cpu * 1000],
      [metrics.hostMemoryBytes, held.memory, totals.memory],
      [metrics.hostDiskBytes, held.disk, totals.disk],
      [metrics.hostGpus, held.gpus.length, totals.gpus.length],
    ];
    for (const [gauge, inUse, total] of pairs) {
      gauge.set(inUse, { host, state: 'held' });
      // A total without a bound (disk with anonymous volumes, a host accounting slots only) has no free figure.
      if (Number.isFinite(total)) gauge.set(Math.max(0, Math.round(total - inUse)), { host, state: 'free' });
    }
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
