// `caisson run` flags → an action spec input. Validation is left to the spec schema, so the CLI
// reports the same messages as every other entry point.
import { parseEnvPairs, parseGpus, parseInputPairs, parseLabelList } from '../common/text/text-inputs.js';
export { mergeSpecs } from '../common/text/text-inputs.js';
import type { ActionSpecInput } from '../spec/action.js';

export interface RunFlags {
  cpu?: string;
  memory?: string;
  'out-disk'?: string;
  'tmp-disk'?: string;
  'log-size'?: string;
  pull?: string;
  gpus?: string;
  pids?: string;
  timeout?: string;
  deadline?: string;
  env?: string[];
  secret?: string[];
  network?: string;
  replicas?: string;
  input?: string;
  output?: string;
  workdir?: string;
  user?: string;
  collect?: string;
  'artifacts-bucket'?: string;
  'artifacts-prefix'?: string;
  source?: string;
  require?: string[];
  prefer?: string[];
  in?: string[];
  entrypoint?: string;
  label?: string[];
  annotation?: string[];
}

export class UsageError extends Error {}

/**
 * A spec from flags: whole with an image, or the fields to put over a spec file's (`image`
 * undefined). A flag's field replaces the file's; env, resources, placement and artifacts merge.
 * As with `docker run IMAGE ARGS`, the words after "--" are the image's command (`args`, its
 * ENTRYPOINT kept); `--entrypoint PROG` replaces the ENTRYPOINT (`command`).
 */
export function specFromFlags(image: string | undefined, args: string[], flags: RunFlags): ActionSpecInput {
  let input: unknown;
  if (flags.input !== undefined) {
    try {
      input = JSON.parse(flags.input);
    } catch (err) {
      throw new UsageError(`--input is not JSON: ${(err as Error).message}`);
    }
  }
  const resources: Record<string, unknown> = {};
  if (flags.cpu !== undefined) resources.cpu = flags.cpu;
  if (flags.memory !== undefined) resources.memory = flags.memory;
  if (flags['out-disk'] !== undefined) resources.outDisk = flags['out-disk'];
  if (flags['tmp-disk'] !== undefined) resources.tmpDisk = flags['tmp-disk'];
  if (flags['log-size'] !== undefined) resources.logSize = flags['log-size'];
  if (flags.gpus !== undefined) resources.gpus = parseGpus(flags.gpus);
  if (flags.pids !== undefined) resources.pids = /^\d+$/.test(flags.pids) ? Number(flags.pids) : flags.pids;
  const spec: Record<string, unknown> = image === undefined ? {} : { image };
  if (Object.keys(resources).length || image !== undefined) spec.resources = resources;
  if (flags.entrypoint !== undefined) spec.command = [flags.entrypoint];
  if (args.length) spec.args = args;
  if (flags.env?.length) {
    try {
      spec.env = parseEnvPairs(flags.env);
    } catch (err) {
      throw new UsageError(`--env ${(err as Error).message}`);
    }
  }
  if (flags.secret?.length) spec.secrets = flags.secret;
  if (flags.in?.length) spec.inputs = inputsFromFlag(flags.in);
  const placement: Record<string, unknown> = {};
  for (const key of ['require', 'prefer'] as const) {
    if (!flags[key]?.length) continue;
    try {
      placement[key] = parseEnvPairs(flags[key]);
    } catch (err) {
      throw new UsageError(`--${key} ${(err as Error).message.replace('KEY=VALUE', 'LABEL=VALUE')}`);
    }
  }
  if (Object.keys(placement).length) spec.placement = placement;
  if (flags.timeout !== undefined) spec.timeout = flags.timeout;
  if (flags.deadline !== undefined) spec.deadline = flags.deadline;
  if (flags.pull !== undefined) spec.pullPolicy = flags.pull;
  if (flags.network !== undefined) spec.network = flags.network;
  if (flags.replicas !== undefined) {
    if (!/^\d+$/.test(flags.replicas)) throw new UsageError(`--replicas takes a whole number, not "${flags.replicas}"`);
    // A number of copies on the command line means a gang: independent copies are --array-count.
    spec.replicas = Number(flags.replicas);
    spec.gang = true;
  }
  if (input !== undefined) spec.input = input;
  if (flags.output !== undefined) spec.output = flags.output;
  if (flags.workdir !== undefined) spec.workingDir = flags.workdir;
  if (flags.user !== undefined) spec.user = flags.user;
  if (flags.collect !== undefined) spec.collect = flags.collect;
  if (flags.source !== undefined) spec.source = flags.source;
  if (flags.label?.length) spec.labels = labelsFlag('--label', flags.label);
  if (flags.annotation?.length) {
    try {
      spec.annotations = parseEnvPairs(flags.annotation);
    } catch (err) {
      throw new UsageError(`--annotation ${(err as Error).message}`);
    }
  }
  if (flags['artifacts-bucket'] || flags['artifacts-prefix']) {
    spec.artifacts = { bucket: flags['artifacts-bucket'], prefix: flags['artifacts-prefix'] };
  }
  return spec as ActionSpecInput;
}

export function inputsFromFlag(pairs: string[]): ReturnType<typeof parseInputPairs> {
  try {
    return parseInputPairs(pairs);
  } catch (err) {
    throw new UsageError(`--in ${(err as Error).message}`);
  }
}

/** Labels from repeated flags, each "name=value" or a comma list of them ("team=vision,exp=42"). */
export function labelsFlag(flag: string, values: readonly string[]): Record<string, string> {
  try {
    return Object.assign({}, ...values.map((v) => parseLabelList(v))) as Record<string, string>;
  } catch (err) {
    throw new UsageError(`${flag} ${(err as Error).message.replace('KEY=VALUE', 'LABEL=VALUE')}`);
  }
}
