// A container's peak memory and CPU time, from the engine's stats stream (pushed, not polled).
import type { EngineContainer } from './engine.js';

/** One sample of the engine's stats stream, as far as it is read. */
interface StatsSample {
  memory_stats?: { max_usage?: number; usage?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

export interface Usage {
  peakMemoryBytes?: number;
  cpuSeconds?: number;
}

/** Follows the engine's stats stream (one sample a second, pushed by the engine) for peak usage. */
export async function followUsage(container: Pick<EngineContainer, 'stats'>, usage: Usage): Promise<() => void> {
  const stream = await container.stats({ stream: true }).catch(() => undefined);
  if (!stream) return () => {};
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const stats = JSON.parse(line) as StatsSample;
        const memory = Math.max(stats.memory_stats?.max_usage ?? 0, stats.memory_stats?.usage ?? 0);
        if (memory) usage.peakMemoryBytes = Math.max(usage.peakMemoryBytes ?? 0, memory);
        const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
        if (cpu) usage.cpuSeconds = Math.max(usage.cpuSeconds ?? 0, cpu / 1e9);
      } catch {
        // A partial or empty sample: the next one stands.
      }
    }
  });
  stream.on('error', () => {});
  return () => (stream as unknown as { destroy?: () => void }).destroy?.();
}
