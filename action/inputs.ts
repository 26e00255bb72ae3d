// The GitHub Action's inputs, read once and checked with the same spec schema as the client and
// the worker. A bad input fails the step before anything starts, naming the input.
import { createHash } from 'node:crypto';
import * as core from '@actions/core';
import { ActionId, checkActionSpec, type ActionSpecInput } from '../spec/action.js';
import type { TemplateRun } from '../common/templates/templates.js';
import { ArrayOptions, type ArrayOptionsInput } from '../spec/array.js';
import { mergeSpecs, parseEnvPairs, parseGpus, parseInputPairs } from '../common/text/text-inputs.js';
import { MAX_DATA_FILE_BYTES, parseData } from '../common/text/data-file.js';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { TemporalSettings } from '../common/connection/temporal-connection.js';
import { codecKeysFromEnv } from '../common/connection/payload-codec.js';

/** Where inputs come from: @actions/core itself (INPUT_* variables), or a stand-in in tests. */
export type InputReader = Pick<typeof core, 'getInput' | 'getBooleanInput' | 'getMultilineInput'>;

export interface ConnectionInputs {
  temporal: TemporalSettings;
  taskQueue: string;
}

export interface ActionInputs extends ConnectionInputs {
  spec: ActionSpecInput;
  /** A template run instead of a spec: its name (and version), input and --set values. */
  template?: TemplateRun & { ref: string };
  actionId: string;
  wait: boolean;
  followLogs: boolean;
  /** Run an array of child actions instead of one (array-count or array-items). */
  array?: ArrayOptionsInput;
  uiUrl?: string;
}

export class InputError extends Error {
  constructor(readonly problems: { input: string; message: string }[]) {
    super(`invalid inputs:\n${problems.map((p) => `  - ${p.input}: ${p.message}`).join('\n')}`);
    this.name = 'InputError';
  }
}

/** Where a spec field comes from, so that a schema problem names the input the user wrote. */
const INPUT_OF_FIELD: Record<string, string> = {
  image: 'image',
  command: 'command',
  args: 'args',
  env: 'env',
  secrets: 'secrets',
  inputs: 'inputs',
  'resources.cpu': 'cpu',
  'resources.memory': 'memory',
  'resources.outDisk': 'out-disk',
  'resources.tmpDisk': 'tmp-disk',
  'resources.logSize': 'log-size',
  'placement.require': 'require',
  'placement.prefer': 'prefer',
  pullPolicy: 'pull-policy',
  'resources.gpus': 'gpus',
  timeout: 'timeout',
  deadline: 'deadline',
  network: 'network',
  input: 'input',
  output: 'output',
  'artifacts.bucket': 'artifacts-bucket',
  'artifacts.prefix': 'artifacts-prefix',
};

function inputForPath(path: string): string {
  for (const [field, input] of Object.entries(INPUT_OF_FIELD)) {
    if (path === field || path.startsWith(`${field}.`)) return input;
  }
  return path;
}

/** A list input: a JSON array, or one item per line (blank lines skipped). */
function list(actions: InputReader, name: string): string[] | undefined {
  const text = actions.getInput(name);
  if (!text) return undefined;
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
      throw new Error('a JSON array of strings');
    return parsed;
  }
  return actions.getMultilineInput(name).filter(Boolean);
}

/** A boolean input, as GitHub reads them (YAML 1.2 core schema); empty means the fallback. */
function bool(actions: InputReader, name: string, fallback: boolean): boolean {
  if (!actions.getInput(name)) return fallback;
  try {
    return actions.getBooleanInput(name);
  } catch {
    throw new Error(`true or false (also True, TRUE, False, FALSE), not ${JSON.stringify(actions.getInput(name))}`);
  }
}

const digest = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** A short name for one leg of a matrix job: a digest of its matrix values (the same on a re-run). */
export function matrixLeg(matrixJson: string): string | undefined {
  let matrix: unknown;
  try {
    matrix = JSON.parse(matrixJson || 'null');
  } catch {
    return undefined;
  }
  if (!matrix || typeof matrix !== 'object' || Object.keys(matrix).length === 0) return undefined;
  const canonical = JSON.stringify(matrix, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
  return `m${digest(canonical, 8)}`;
}

/**
 * repository, run, attempt, job, matrix leg and step: a retried step attaches to its action instead
 * of starting another, and the legs of a matrix job (same job, same step) each have their own.
 * `matrixJson` is the job's matrix context as JSON (empty or null for a job without one).
 */
export function defaultActionId(env: NodeJS.ProcessEnv, matrixJson = ''): string | undefined {
  const parts = [env.GITHUB_REPOSITORY, env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT, env.GITHUB_JOB, env.GITHUB_ACTION];
  if (parts.some((p) => !p)) return undefined;
  const leg = matrixLeg(matrixJson);
  if (leg) parts.splice(4, 0, leg);
  const id = `gh-${parts.join('-')}`.replace(/[^A-Za-z0-9._-]/g, '-');
  if (id.length <= 200) return id;
  // Cut short, two ids could meet: the cut keeps a digest of the whole.
  return `${id.slice(0, 187)}-${digest(id, 12)}`;
}

type Problems = { input: string; message: string }[];

/**
 * A spec file in the workspace (YAML or JSON): its real path (symlinks resolved) must lie in the
 * workspace, so that a workflow cannot make the step read a file of the runner's host.
 */
function readSpecFile(path: string, workspace: string): Record<string, unknown> {
  let real: string;
  try {
    real = realpathSync(resolve(workspace, path));
  } catch {
    throw new Error(`${path} is not a file in the workspace (${workspace})`);
  }
  const inside = relative(realpathSync(workspace), real);
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new Error(`${path} lies outside the workspace (${workspace})`);
  if (statSync(real).size > MAX_DATA_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_DATA_FILE_BYTES} bytes`);
  const parsed = parseData(readFileSync(real, 'utf8'), path);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${path}: a spec is a mapping of fields (image, command, …)`);
  return parsed as Record<string, unknown>;
}

/** Runs fn; a throw becomes a problem of the input instead. */
function collect<T>(problems: Problems, input: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    problems.push({
      input,
      message: err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message,
    });
    return undefined;
  }
}

function connection(actions: InputReader, problems: Problems, env: NodeJS.ProcessEnv = process.env): ConnectionInputs {
  const get = (name: string) => actions.getInput(name);
  const address = get('temporal-address') || '127.0.0.1:7233';
  if (!/^[^:\s]+:\d+$/.test(address))
    problems.push({ input: 'temporal-address', message: 'host:port, e.g. temporal.example.com:7233' });
  return {
    temporal: {
      address,
      namespace: get('temporal-namespace') || 'default',
      apiKey: get('temporal-api-key') || undefined,
      tlsCert: get('temporal-tls-cert') || undefined,
      tlsKey: get('temporal-tls-key') || undefined,
      tlsCa: get('temporal-tls-ca') || undefined,
      // A secret: from the input, or the job's environment (env: CAISSON_CODEC_KEYS: ${{ secrets.… }}).
      codecKeys: get('codec-keys') || codecKeysFromEnv(env),
    },
    taskQueue: get('task-queue') || 'caisson',
  };
}

/** Only what reaching Temporal needs: for the post step, which cancels an action by its id. */
export function readConnectionInputs(
  actions: InputReader = core,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionInputs {
  const problems: Problems = [];
  const inputs = connection(actions, problems, env);
  if (problems.length) throw new InputError(problems);
  return inputs;
}

export function readInputs(actions: InputReader = core, env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const problems: Problems = [];
  const get = (name: string) => actions.getInput(name);
  const attempt = <T>(input: string, fn: () => T) => collect(problems, input, fn);

  const spec: Record<string, unknown> = {};
  if (get('image')) spec.image = get('image');
  const command = attempt('command', () => list(actions, 'command'));
  if (command) spec.command = command;
  // args: a JSON array, or else the whole text as ONE argument, so that a script written as a YAML
  // block after `command: [sh, -c]` runs whole (one argument per line would run only its first line).
  const args = attempt('args', () =>
    get('args').startsWith('[') ? list(actions, 'args') : get('args') ? [get('args')] : undefined,
  );
  if (args) spec.args = args;
  if (get('env')) {
    const pairs = attempt('env', () => parseEnvPairs(actions.getMultilineInput('env').filter(Boolean)));
    if (pairs) spec.env = pairs;
  }
  if (get('inputs')) {
    const inputs = attempt('inputs', () => parseInputPairs(actions.getMultilineInput('inputs').filter(Boolean)));
    if (inputs) spec.inputs = inputs;
  }
  const secrets = get('secrets');
  if (secrets) spec.secrets = secrets.split(/[\s,]+/).filter(Boolean);
  const resources: Record<string, unknown> = {};
  if (get('cpu')) resources.cpu = get('cpu');
  if (get('memory')) resources.memory = /^\d+$/.test(get('memory')) ? Number(get('memory')) : get('memory');
  if (get('gpus')) resources.gpus = parseGpus(get('gpus'));
  if (get('out-disk')) resources.outDisk = get('out-disk');
  if (get('tmp-disk')) resources.tmpDisk = get('tmp-disk');
  if (get('log-size')) resources.logSize = get('log-size');
  if (Object.keys(resources).length) spec.resources = resources;
  const placement: Record<string, unknown> = {};
  for (const key of ['require', 'prefer'] as const) {
    if (!get(key)) continue;
    const labels = attempt(key, () => parseEnvPairs(actions.getMultilineInput(key).filter(Boolean)));
    if (labels) placement[key] = labels;
  }
  if (Object.keys(placement).length) spec.placement = placement;
  if (get('pull-policy')) spec.pullPolicy = get('pull-policy');
  if (get('timeout')) spec.timeout = get('timeout');
  if (get('deadline')) spec.deadline = get('deadline');
  if (get('network')) spec.network = get('network');
  if (get('input')) {
    const input = attempt('input', () => JSON.parse(get('input')) as unknown);
    if (input !== undefined) spec.input = input;
  }
  if (get('output')) spec.output = get('output');
  if (get('artifacts-bucket') || get('artifacts-prefix')) {
    spec.artifacts = { bucket: get('artifacts-bucket') || undefined, prefix: get('artifacts-prefix') || undefined };
  }
  const source =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `github.com/${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID}`
      : undefined;

  let whole: Record<string, unknown> = spec;
  let template: ActionInputs['template'];
  if (get('template')) {
    // A template brings its own spec: only the input and what it lets runs --set go with it.
    const extra = Object.keys(spec).filter((k) => k !== 'input' && k !== 'inputs');
    if (extra.length || get('spec-file'))
      problems.push({
        input: 'template',
        message: `a template run takes input and set only; not ${[...extra.map(inputForPath), ...(get('spec-file') ? ['spec-file'] : [])].join(', ')}`,
      });
    const set = get('set')
      ? attempt('set', () => parseEnvPairs(actions.getMultilineInput('set').filter(Boolean)))
      : undefined;
    template = { ref: get('template'), input: spec.input, set, inputs: spec.inputs as ActionSpecInput['inputs'] };
  } else {
    if (get('spec-file')) {
      const fromFile = attempt('spec-file', () =>
        readSpecFile(get('spec-file'), env.GITHUB_WORKSPACE || process.cwd()),
      );
      if (fromFile) whole = mergeSpecs(fromFile, spec);
    }
    whole.source = source;
  }

  const checked = template ? undefined : checkActionSpec(whole);
  if (checked && !checked.success) {
    for (const issue of checked.error.issues) {
      const path = issue.path.map(String).join('.');
      problems.push({ input: path ? inputForPath(path) : 'inputs', message: issue.message });
    }
  }

  const actionId = get('action-id') || defaultActionId(env, get('job-leg')) || `gh-${Date.now()}`;
  const idCheck = ActionId.safeParse(actionId);
  if (!idCheck.success) problems.push({ input: 'action-id', message: idCheck.error.issues[0]!.message });
  let array: ArrayOptionsInput | undefined;
  if (get('array-count') || get('array-items')) {
    const whole = (name: string, min: number) =>
      attempt(name, () => {
        const n = Number(get(name));
        if (!Number.isInteger(n) || n < min)
          throw new Error(`a whole number of at least ${min}, not ${JSON.stringify(get(name))}`);
        return n;
      });
    const items = get('array-items')
      ? attempt('array-items', () => JSON.parse(get('array-items')) as unknown)
      : undefined;
    if (items !== undefined && !Array.isArray(items))
      problems.push({ input: 'array-items', message: 'a JSON array: one child each, its item as input' });
    array = {
      ...(get('array-count') ? { count: whole('array-count', 1) } : {}),
      ...(Array.isArray(items) ? { items } : {}),
      ...(get('parallelism') ? { parallelism: whole('parallelism', 1) } : {}),
      ...(get('max-failures') ? { maxFailures: whole('max-failures', 0) } : {}),
    };
    const checked = ArrayOptions.safeParse(array);
    if (!checked.success)
      for (const issue of checked.error.issues)
        problems.push({ input: issue.path[0] === 'items' ? 'array-items' : 'array-count', message: issue.message });
  }
  const wait = attempt('wait', () => bool(actions, 'wait', true)) ?? true;
  const followLogs = attempt('follow-logs', () => bool(actions, 'follow-logs', true)) ?? true;
  const connectionInputs = connection(actions, problems, env);

  if (problems.length) throw new InputError(problems);
  return {
    ...connectionInputs,
    spec: whole as ActionSpecInput,
    template,
    actionId,
    wait,
    followLogs,
    array,
    uiUrl: get('temporal-ui-url') || undefined,
  };
}
