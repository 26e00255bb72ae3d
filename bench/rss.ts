// Samples a process's resident memory from /proc while a piece of work runs.
import { readFileSync } from 'node:fs';

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** Runs `work` and reports the highest RSS of `pid` above its level when the work began. */
export async function withRssGrowth<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ value: T; growthBytes: number }> {
  const before = rssBytes(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 50);
  try {
    const value = await work();
    peak = Math.max(peak, rssBytes(pid));
    return { value, growthBytes: peak - before };
  } finally {
    clearInterval(timer);
  }
}
