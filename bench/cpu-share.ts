// Where the CPU goes: trivial actions through the bench's worker (capacity 4) against the same
// number through `xargs -P4 docker run --rm`, with every process's CPU time read from /proc
// before and after each. On 2 cores, throughput is bounded by CPU per action; this says whose.
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { ActionsClient } from '../client/index.js';

const exec = promisify(execFile);
/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface CpuShare {
  actions: number;
  /** CPU milliseconds per action by component, and all of the machine's. */
  xargs: Record<string, number>;
  caisson: Record<string, number>;
}

/** A process's own CPU seconds (user + system, children not included), by component name. */
function cpuByComponent(workerPid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / clockTicks;
      const ppid = Number(fields[1]);
      const name =
        Number(pid) === workerPid
          ? 'worker'
          : ppid === workerPid
            ? 'worker helpers'
            : Number(pid) === process.pid
              ? 'bench client'
              : pid === '1'
                ? 'init (pid 1)'
                : comm.startsWith('kworker') || comm.startsWith('ksoftirq') || comm.startsWith('loop')
                  ? 'kernel threads'
                  : comm.startsWith('containerd-shim')
                    ? 'containerd-shim'
                    : comm;
      out.set(name, (out.get(name) ?? 0) + seconds);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function machineCpu(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / clockTicks; // user nice system irq softirq
}

async function measure(
  workerPid: number,
  actions: number,
  run: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const before = cpuByComponent(workerPid);
  const machineBefore = machineCpu();
  await run();
  const after = cpuByComponent(workerPid);
  const machine = machineCpu() - machineBefore;
  const per = (s: number) => Math.round((s * 1000) / actions);
  const share: Record<string, number> = {};
  let seen = 0;
  for (const [name, seconds] of after) {
    const used = seconds - (before.get(name) ?? 0);
    if (used <= 0) continue;
    seen += used;
    if (per(used) >= 2) share[name] = per(used);
  }
  // Processes that began and ended inside the window (docker CLIs, runc, mkfs) are in no sample.
  share['short-lived processes'] = Math.max(0, per(machine - seen));
  share.machine = per(machine);
  return share;
}

export async function benchCpuShare(
  client: ActionsClient,
  image: string,
  workerPid: number,
  actions: number,
): Promise<CpuShare> {
  const xargs = await measure(workerPid, actions, () =>
    exec('sh', ['-c', `seq ${actions} | xargs -P4 -I{} docker run --rm ${image} true`]),
  );
  const caisson = await measure(workerPid, actions, async () => {
    const handles = await Promise.all(
      Array.from({ length: actions }, () => client.start({ image, command: ['true'], timeout: '5m' })),
    );
    for (const h of handles) {
      const result = await h.result();
      if (result.status !== 'DONE') throw new Error(`trivial action ended ${result.status}: ${result.message}`);
    }
  });
  return { actions, xargs, caisson };
}

/** The table of the report: components by CPU per action, largest first. */
export function cpuShareTable(share: CpuShare): string {
  const names = [...new Set([...Object.keys(share.caisson), ...Object.keys(share.xargs)])].filter(
    (n) => n !== 'machine',
  );
  names.sort((a, b) => (share.caisson[b] ?? 0) - (share.caisson[a] ?? 0));
  const rows = names.map((n) => `| ${n} | ${share.caisson[n] ?? 0} | ${share.xargs[n] ?? 0} |`);
  return [
    '| component | caisson (ms per action) | xargs -P4 docker run (ms per action) |',
    '| --- | ---: | ---: |',
    ...rows,
    `| **whole machine** | **${share.caisson.machine}** | **${share.xargs.machine}** |`,
  ].join('\n');
}
