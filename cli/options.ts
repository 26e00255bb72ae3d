// Commander glue shared by the commands: repeatable flags, a command's values under their flag
// names (what run-request.ts and spec-from-flags.ts read), the container's command after "--",
// and the spec flags of `run` and `schedule create|update`.
import { Command, Option } from 'commander';
import { UsageError } from './spec-from-flags.js';

/** A repeatable flag collects its values in order: `--env A=1 --env B=2`. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A flag that may be given many times, its values in order. */
export const many = (flags: string, description: string) => new Option(flags, description).argParser(collect);

/** The command's option values keyed by their long flag names (`out-disk`, not `outDisk`). */
export function valuesByFlag(cmd: Command): Record<string, unknown> {
  const opts = cmd.opts();
  const values: Record<string, unknown> = {};
  for (const option of cmd.options) {
    const value = opts[option.attributeName()];
    if (option.long && value !== undefined) values[option.long.replace(/^--/, '')] = value;
  }
  return values;
}

/**
 * What follows "--" on the command line: the container's command. Commander mixes these words
 * with the operands before "--", so they are read back from the raw arguments.
 */
export function afterDash(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as Command & { rawArgs: string[] }).rawArgs;
  const dash = raw.indexOf('--');
  return dash >= 0 ? raw.slice(dash + 1) : [];
}

/** The operands before "--" (IMAGE, NAME, …). */
export function operandsBeforeDash(cmd: Command): string[] {
  const command = afterDash(cmd);
  return cmd.args.slice(0, cmd.args.length - command.length);
}

/** The address a server command listens on: --port (default `port`) and --ip (loopback by default). */
export function addListenOptions(cmd: Command, port: number): Command {
  return cmd
    .option('--port <port>', 'the port to listen on', String(port))
    .option('--ip <ip>', 'the address to listen on', '127.0.0.1');
}

export function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port takes a port number');
  return port;
}

/** The flags of a spec (and of a template run), as `run` and `schedule create|update` take them. */
export function addSpecOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <spec>', 'the spec from a file, YAML or JSON ("-" reads stdin); flags override its fields')
    .option('--cpu <n>', 'CPUs: 2, 0.5 or 500m')
    .option('-m, --memory <size>', 'memory limit, e.g. 512Mi, 2Gi')
    .option('--gpus <gpus>', 'N, all, or device IDs ID,ID')
    .option('--pids <n>', 'most processes at once')
    .option('--out-disk <size>', 'room for /out')
    .option('--tmp-disk <size>', 'room for /tmp_disk')
    .option('--log-size <size>', 'most log kept')
    .option('--pull <policy>', 'always | if-not-present | never')
    .option('--timeout <duration>', "one attempt's run, e.g. 10m")
    .option('--deadline <duration>', 'the whole job: waiting, pulls, retries, every attempt')
    .addOption(many('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)'))
    .addOption(many('--secret <name>', 'a secret the host grants (repeatable)'))
    .addOption(many('--require <LABEL=VALUE>', 'run only on hosts with this label (repeatable)'))
    .addOption(many('--prefer <LABEL=VALUE>', 'prefer hosts with this label (repeatable)'))
    .option('--network <mode>', 'none | host | egress | gang')
    .option('--replicas <n>', 'run N copies as one gang: placed together, told RANK and WORLD_SIZE, retried as one')
    .option('--input <json>', "the action's input, as JSON, on its stdin")
    .option('--input-file <file>', 'the input from a JSON or YAML file')
    .option('--output <kind>', 'text | json: what the container prints on stdout')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('--user <user>', 'user in the container')
    .option('--collect <when>', 'always | on-success | never: when /out is kept')
    .option('--artifacts-bucket <bucket>', 'bucket for /out')
    .option('--artifacts-prefix <prefix>', 'key prefix for /out')
    .option('--source <text>', 'who or what started it, for listings')
    .addOption(many('-l, --label <LABEL=VALUE,...>', 'labels to find it by: caisson list -l (repeatable)'))
    .addOption(many('--annotation <KEY=VALUE>', 'a note kept with it, any text (repeatable)'))
    .option('--entrypoint <program>', "the program to run instead of the image's ENTRYPOINT")
    .addOption(
      many('--in <FROM=TO>', 'data staged read-only under /in: s3://B/KEY=/in/PATH or action:ID/PATH=/in/PATH'),
    )
    .addOption(many('--set <KEY=VALUE>', "a template's overridable field (repeatable)"))
    .option('--template <name>', 'run a template NAME[@VERSION]');
}
