// What a host can give and what an action asks of it: pure rules, so that placement, the fleet's
// registry and the CLI measure an action the same way. A host places an action only where its cpu,
// memory, disk budget and GPUs fit next to what already runs there, and only when it carries the
// labels the action requires.
import type { Action } from './action.js';
import { formatBytes } from './quantity.js';

/** What a host can give in all (the worker's config, by default the machine's). */
export interface HostTotals {
  /** Cores. */
  cpu: number;
  /** Bytes of memory. */
  memory: number;
  /** Bytes of disk budgets (/out + /tmp_disk) it gives out; Infinity where containers get anonymous volumes. */
  disk: number;
  /** Device ids of its GPUs, as the engine's device request names them. */
  gpus: string[];
  labels: Record<string, string>;
}

/** What an action takes on the host while it runs. */
export interface Held {
  cpu: number;
  memory: number;
  disk: number;
  gpus: string[];
}

/** What an action asks, with the host's defaults for what it leaves out. */
export interface Needs {
  cpu: number;
  memory: number;
  disk: number;
  gpus: number | 'all' | string[];
  require: Record<string, string>;
}

export interface NeedsDefaults {
  cpu?: number;
  memory?: number;
  outDisk: number;
  tmpDisk: number;
}

export function needsOf(spec: Pick<Action, 'resources' | 'placement'>, defaults: NeedsDefaults): Needs {
  const r = spec.resources;
  return {
    // An action without a cpu limit may use every core; it is counted as asking for none, as
    // Kubernetes counts a pod without requests.
    cpu: r.cpu ?? defaults.cpu ?? 0,
    memory: r.memory ?? defaults.memory ?? 0,
    disk: (r.outDisk ?? defaults.outDisk) + (r.tmpDisk ?? defaults.tmpDisk),
    gpus: r.gpus ?? 0,
    require: spec.placement?.require ?? {},
  };
}

const gpusWord = (n: number) => `${n} GPU${n === 1 ? '' : 's'}`;
const gpuCount = (gpus: Needs['gpus'], totals: HostTotals) =>
  gpus === 'all' ? totals.gpus.length : Array.isArray(gpus) ? gpus.length : gpus;

/** "2 cpu, 4Gi memory, 2Gi disk, 1 GPU, zone=a": what a waiting action waits for. */
export function describeNeeds(needs: Needs): string {
  const parts = [`${needs.cpu} cpu`, `${formatBytes(needs.memory)} memory`, `${formatBytes(needs.disk)} disk`];
  if (needs.gpus === 'all') parts.push('all GPUs');
  else if (Array.isArray(needs.gpus)) parts.push(`GPUs ${needs.gpus.join(',')}`);
  else if (needs.gpus > 0) parts.push(gpusWord(needs.gpus));
  for (const [k, v] of Object.entries(needs.require)) parts.push(`${k}=${v}`);
  return parts.join(', ');
}

/** Why this host could never run the action, whatever ends there; undefined when it could. */
export function neverFits(needs: Needs, totals: HostTotals): string | undefined {
  const why: string[] = [];
  for (const [k, v] of Object.entries(needs.require)) {
    if (totals.labels[k] !== v)
      why.push(`label ${k}=${v} (it has ${k in totals.labels ? `${k}=${totals.labels[k]}` : `no ${k}`})`);
  }
  if (needs.cpu > totals.cpu) why.push(`${needs.cpu} cpu (it has ${totals.cpu})`);
  if (needs.memory > totals.memory)
    why.push(`${formatBytes(needs.memory)} memory (it has ${formatBytes(totals.memory)})`);
  if (needs.disk > totals.disk) why.push(`${formatBytes(needs.disk)} disk (it has ${formatBytes(totals.disk)})`);
  if (Array.isArray(needs.gpus)) {
    const absent = needs.gpus.filter((id) => !totals.gpus.includes(id));
    if (absent.length) why.push(`GPUs ${absent.join(',')} (it has ${totals.gpus.join(',') || 'none'})`);
  } else if (needs.gpus === 'all' ? totals.gpus.length === 0 : needs.gpus > totals.gpus.length) {
    why.push(`${needs.gpus === 'all' ? 'all GPUs' : gpusWord(needs.gpus)} (it has ${totals.gpus.length})`);
  }
  return why.length ? why.join(', ') : undefined;
}

/** The sum of what runs hold. */
export function sumHeld(held: Iterable<Held>): Held {
  const sum: Held = { cpu: 0, memory: 0, disk: 0, gpus: [] };
  for (const h of held) {
    sum.cpu += h.cpu;
    sum.memory += h.memory;
    sum.disk += h.disk;
    sum.gpus.push(...h.gpus);
  }
  return sum;
}

/**
 * What the action would hold here now (with the GPU ids it would be given), or what is short. Call
 * only when `neverFits` is undefined.
 */
export function fitNow(needs: Needs, totals: HostTotals, inUse: Held): { held: Held } | { short: string } {
  const short: string[] = [];
  // Sums of fractional cores are rounded so that 0.1 + 0.2 fits in 0.3.
  const free = {
    cpu: Math.round((totals.cpu - inUse.cpu) * 1000) / 1000,
    memory: totals.memory - inUse.memory,
    disk: totals.disk - inUse.disk,
  };
  if (needs.cpu > free.cpu) short.push(`${needs.cpu} cpu (${free.cpu} free)`);
  if (needs.memory > free.memory)
    short.push(`${formatBytes(needs.memory)} memory (${formatBytes(Math.max(0, free.memory))} free)`);
  if (needs.disk > free.disk)
    short.push(`${formatBytes(needs.disk)} disk (${formatBytes(Math.max(0, free.disk))} free)`);
  const freeGpus = totals.gpus.filter((id) => !inUse.gpus.includes(id));
  let gpus: string[] = [];
  if (Array.isArray(needs.gpus)) {
    const busy = needs.gpus.filter((id) => !freeGpus.includes(id));
    if (busy.length) short.push(`GPUs ${busy.join(',')} (in use)`);
    else gpus = [...needs.gpus];
  } else {
    const count = gpuCount(needs.gpus, totals);
    if (count > freeGpus.length)
      short.push(`${needs.gpus === 'all' ? 'all GPUs' : gpusWord(count)} (${freeGpus.length} free)`);
    else gpus = freeGpus.slice(0, count);
  }
  if (short.length) return { short: short.join(', ') };
  return { held: { cpu: needs.cpu, memory: needs.memory, disk: needs.disk, gpus } };
}

/** What a waiting action waits for, from what its spec asks (the host adds its defaults). */
export function waitingFor(spec: Pick<Action, 'resources' | 'placement'>): string {
  const r = spec.resources;
  const parts: string[] = [];
  if (r.cpu !== undefined) parts.push(`${r.cpu} cpu`);
  if (r.memory !== undefined) parts.push(`${formatBytes(r.memory)} memory`);
  if (r.gpus !== undefined)
    parts.push(r.gpus === 'all' ? 'all GPUs' : Array.isArray(r.gpus) ? `GPUs ${r.gpus.join(',')}` : gpusWord(r.gpus));
  const labels = Object.entries(spec.placement?.require ?? {}).map(([k, v]) => `${k}=${v}`);
  return `a host with free capacity${parts.length ? ` for ${parts.join(', ')}` : ''}${labels.length ? ` carrying ${labels.join(', ')}` : ''}`;
}
