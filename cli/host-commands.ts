// `caisson host list | drain NAME | undrain NAME`: the fleet as its hosts report themselves in the
// artifacts bucket (common/storage/fleet-registry.ts). Drain writes the marker the named host obeys within
// a few seconds: it takes nothing new and finishes what it runs.
import type { Command } from 'commander';
import type { FleetRegistry, HostRecord } from '../common/storage/fleet-registry.js';
import { out } from './connect.js';
import { examples } from './help-text.js';
import { addFormatOptions, formatOf, renderList, type Columns } from './output-format.js';
import { humanAge, humanBytes } from './table.js';
import { UsageError } from './spec-from-flags.js';

const HOST_NAME = /^[A-Za-z0-9._-]+$/;

/** The registry in the artifacts bucket; the AWS SDK loads on use, after the flags are checked. */
async function registryFromEnv(env: NodeJS.ProcessEnv): Promise<FleetRegistry> {
  const bucket = env.CAISSON_ARTIFACTS_BUCKET;
  if (!bucket)
    throw new UsageError('set CAISSON_ARTIFACTS_BUCKET (and the AWS_* variables): hosts report themselves there');
  const [{ FleetRegistry }, { s3ClientFromEnv }] = await Promise.all([
    import('../common/storage/fleet-registry.js'),
    import('../common/storage/s3-client.js'),
  ]);
  return new FleetRegistry(
    s3ClientFromEnv({ ...env, AWS_REGION: env.AWS_REGION || 'us-east-1' }),
    bucket,
    env.CAISSON_TASK_QUEUE || 'caisson',
  );
}

const amount = (n: number, show: (n: number) => string) => (Number.isFinite(n) ? show(n) : 'unbounded');

type IsLive = (h: HostRecord, now: number) => boolean;

function stateOf(h: HostRecord, now: number, isLive: IsLive): string {
  return h.stopped ? 'stopped' : !isLive(h, now) ? 'silent' : h.drained ? `drained (${h.drained})` : 'ready';
}

/** The columns of host list; whether a host is live is the registry's rule (loaded with it). */
const hostColumns = (isLive: IsLive): Columns<HostRecord> => ({
  header: ['HOST', 'STATE', 'ACTIONS', 'CPU', 'MEMORY', 'GPUS', 'LABELS', 'LAST SEEN', 'AGE'],
  row: (h, now) => [
    h.host,
    stateOf(h, now, isLive),
    `${h.actions.length}/${h.slots}`,
    `${h.inUse.cpu}/${amount(h.totals.cpu, String)}`,
    `${humanBytes(h.inUse.memory)}/${humanBytes(h.totals.memory)}`,
    `${h.inUse.gpus.length}/${h.totals.gpus.length}`,
    Object.entries(h.totals.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
    `${humanAge(now - Date.parse(h.seenAt))} ago`,
    humanAge(now - Date.parse(h.startedAt)),
  ],
  wide: {
    header: ['DISK', 'RUNNING'],
    row: (h) => [amount(h.totals.disk, humanBytes), h.actions.join(',') || '-'],
  },
  name: (h) => h.host,
});

/** Drain or undrain one host by name, and say whether it has reported yet. */
async function setDrained(sub: 'drain' | 'undrain', name: string, reason: string | undefined, env: NodeJS.ProcessEnv) {
  if (!HOST_NAME.test(name))
    throw new UsageError(`caisson host ${sub} NAME: one host name (letters, digits, ".", "_", "-")`);
  const registry = await registryFromEnv(env);
  if (sub === 'drain') {
    await registry.drain(name, (reason ?? '').slice(0, 200));
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
}

export function hostCommand(program: Command, env: NodeJS.ProcessEnv = process.env): void {
  const host = program
    .command('host')
    .description("the fleet's hosts, as they report themselves in the artifacts bucket")
    .addHelpText('after', examples('caisson host list', 'caisson host drain gpu-3 --reason "kernel upgrade"'));
  addFormatOptions(
    host.command('list').alias('ls').description('every host: state, actions, cpu, memory, GPUs, labels, last report'),
  )
    .addHelpText('after', examples('caisson host list', 'caisson host list -o wide', 'caisson host list -o json'))
    .action(async (opts: { output?: string; json?: boolean }) => {
      const format = formatOf(opts);
      const hosts = await (await registryFromEnv(env)).hosts();
      const { isLive } = await import('../common/storage/fleet-registry.js');
      renderList(hosts, format, hostColumns(isLive)).forEach(out);
    });
  host
    .command('drain')
    .description('place nothing new on a host; what runs there finishes')
    .argument('<name>', 'the host name')
    .option('--reason <text>', 'why, shown in host list')
    .addHelpText('after', examples('caisson host drain gpu-3 --reason "kernel upgrade"'))
    .action((name: string, opts: { reason?: string }) => setDrained('drain', name, opts.reason, env));
  host
    .command('undrain')
    .description('let a drained host take actions again')
    .argument('<name>', 'the host name')
    .addHelpText('after', examples('caisson host undrain gpu-3'))
    .action((name: string) => setDrained('undrain', name, undefined, env));
}
