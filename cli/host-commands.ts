// `caisson host list | drain NAME | undrain NAME`: the fleet as its hosts report themselves in the
// artifacts bucket (common/storage/fleet-registry.ts). Drain writes the marker the named host obeys within
// a few seconds: it takes nothing new and finishes what it runs.
import { parseArgs } from 'node:util';
import { FleetRegistry, isLive, type HostRecord } from '../common/storage/fleet-registry.js';
import { s3ClientFromEnv } from '../common/storage/s3-client.js';
import { formatBytes } from '../spec/quantity.js';
import { UsageError } from './spec-from-flags.js';

const HOST_NAME = /^[A-Za-z0-9._-]+$/;

function registryFromEnv(env: NodeJS.ProcessEnv): FleetRegistry {
  const bucket = env.CAISSON_ARTIFACTS_BUCKET;
  if (!bucket)
    throw new UsageError('set CAISSON_ARTIFACTS_BUCKET (and the AWS_* variables): hosts report themselves there');
  return new FleetRegistry(
    s3ClientFromEnv({ ...env, AWS_REGION: env.AWS_REGION || 'us-east-1' }),
    bucket,
    env.CAISSON_TASK_QUEUE || 'caisson',
  );
}

const amount = (n: number, show: (n: number) => string) => (Number.isFinite(n) ? show(n) : 'unbounded');

function row(h: HostRecord, now: number): string[] {
  const state = h.stopped ? 'stopped' : !isLive(h, now) ? 'silent' : h.drained ? `drained (${h.drained})` : 'ready';
  const t = h.totals;
  return [
    h.host,
    state,
    `${h.actions.length}/${h.slots}`,
    `${h.inUse.cpu}/${amount(t.cpu, String)}`,
    `${formatBytes(h.inUse.memory)}/${amount(t.memory, formatBytes)}`,
    `${h.inUse.gpus.length}/${t.gpus.length}`,
    Object.entries(t.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
    `${Math.round((now - Date.parse(h.seenAt)) / 1000)}s ago`,
  ];
}

export async function hostCommand(
  args: string[],
  out: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, reason: { type: 'string' } },
  });
  const registry = registryFromEnv(env);
  switch (sub) {
    case 'list': {
      const hosts = await registry.hosts();
      if (values.json) {
        out(JSON.stringify(hosts, (_k, v: unknown) => (v === Infinity ? null : v), 2));
        return 0;
      }
      const now = Date.now();
      out(['HOST', 'STATE', 'ACTIONS', 'CPU', 'MEMORY', 'GPUS', 'LABELS', 'LAST SEEN'].join('\t'));
      for (const h of hosts) out(row(h, now).join('\t'));
      return 0;
    }
    case 'drain':
    case 'undrain': {
      const name = positionals[0];
      if (!name || positionals.length > 1 || !HOST_NAME.test(name))
        throw new UsageError(`caisson host ${sub} NAME: one host name (letters, digits, ".", "_", "-")`);
      if (sub === 'drain') {
        const reason = (values.reason ?? '').slice(0, 200);
        await registry.drain(name, reason);
        out(`host ${name} drained: it takes nothing new and finishes what it runs (within a few seconds)`);
      } else {
        await registry.undrain(name);
        out(`host ${name} takes actions again`);
      }
      const known = (await registry.hosts()).some((h) => h.host === name);
      if (!known)
        out(
          `(no host named ${name} has reported on queue ${env.CAISSON_TASK_QUEUE || 'caisson'} yet; the marker waits for it)`,
        );
      return 0;
    }
    default:
      throw new UsageError('caisson host list [--json] | drain NAME [--reason TEXT] | undrain NAME');
  }
}
