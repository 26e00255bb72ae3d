// The action spec as the GitHub Action's inputs give it, group by group (the container, its
// resources, its placement, how it runs), and the spec file a workflow may name instead. Each input
// maps to one spec field, so that a schema problem names the input the user wrote.
import {
  parseAnnotationText,
  parseEnvPairs,
  parseGpus,
  parseInputPairs,
  parseLabelList,
} from '../common/text/text-inputs.js';
import { MAX_DATA_FILE_BYTES, parseData } from '../common/text/data-file.js';
import { readFileSync, statSync } from 'node:fs';
import { list, type Attempt, type InputReader } from './input-values.js';
import { realPathInWorkspace } from './workspace-path.js';

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
  labels: 'labels',
  annotations: 'annotations',
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

export function inputForPath(path: string): string {
  for (const [field, input] of Object.entries(INPUT_OF_FIELD)) {
    if (path === field || path.startsWith(`${field}.`)) return input;
  }
  return path;
}

type Spec = Record<string, unknown>;

/** image, command, args, env, inputs and secrets: what runs, and what it is given. */
function containerFields(actions: InputReader, attempt: Attempt, spec: Spec): void {
  const get = (name: string) => actions.getInput(name);
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
}

/** cpu, memory, gpus and the disk and log sizes. */
function resourceFields(actions: InputReader, spec: Spec): void {
  const get = (name: string) => actions.getInput(name);
  const resources: Record<string, unknown> = {};
  if (get('cpu')) resources.cpu = get('cpu');
  if (get('memory')) resources.memory = /^\d+$/.test(get('memory')) ? Number(get('memory')) : get('memory');
  if (get('gpus')) resources.gpus = parseGpus(get('gpus'));
  if (get('out-disk')) resources.outDisk = get('out-disk');
  if (get('tmp-disk')) resources.tmpDisk = get('tmp-disk');
  if (get('log-size')) resources.logSize = get('log-size');
  if (Object.keys(resources).length) spec.resources = resources;
}

/** require and prefer: the labels of the hosts it may run on. */
function placementFields(actions: InputReader, attempt: Attempt, spec: Spec): void {
  const placement: Record<string, unknown> = {};
  for (const key of ['require', 'prefer'] as const) {
    if (!actions.getInput(key)) continue;
    const labels = attempt(key, () => parseEnvPairs(actions.getMultilineInput(key).filter(Boolean)));
    if (labels) placement[key] = labels;
  }
  if (Object.keys(placement).length) spec.placement = placement;
}

/** labels and annotations: what the action is searched by, and notes kept with it. */
function metadataFields(actions: InputReader, attempt: Attempt, spec: Spec): void {
  const get = (name: string) => actions.getInput(name);
  if (get('labels')) {
    const labels = attempt('labels', () => parseLabelList(get('labels')));
    if (labels) spec.labels = labels;
  }
  if (get('annotations')) {
    const annotations = attempt('annotations', () => parseAnnotationText(get('annotations'), 'annotations'));
    if (annotations) spec.annotations = annotations;
  }
}

/** pull policy, time limits, network, input and output, and where its artifacts go. */
function runFields(actions: InputReader, attempt: Attempt, spec: Spec): void {
  const get = (name: string) => actions.getInput(name);
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
}

/** The spec fields the inputs give, unchecked: only the inputs that are set. */
export function specFromInputs(actions: InputReader, attempt: Attempt): Spec {
  const spec: Spec = {};
  containerFields(actions, attempt, spec);
  resourceFields(actions, spec);
  placementFields(actions, attempt, spec);
  metadataFields(actions, attempt, spec);
  runFields(actions, attempt, spec);
  return spec;
}

/**
 * A spec file in the workspace (YAML or JSON): its real path (symlinks resolved) must lie in the
 * workspace, so that a workflow cannot make the step read a file of the runner's host.
 */
export function readSpecFile(path: string, workspace: string): Spec {
  const real = realPathInWorkspace(path, workspace);
  if (statSync(real).size > MAX_DATA_FILE_BYTES) throw new Error(`${path} is larger than ${MAX_DATA_FILE_BYTES} bytes`);
  const parsed = parseData(readFileSync(real, 'utf8'), path);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${path}: a spec is a mapping of fields (image, command, …)`);
  return parsed as Spec;
}
