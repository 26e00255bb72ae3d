// The GitHub Action's inputs, read once and checked with the same spec schema as the client and
// the worker. A bad input fails the step before anything starts, naming the input.
import { createHash } from 'node:crypto';
import * as core from '@actions/core';
import { ActionId, checkActionSpec, type ActionSpecInput } from '../spec/action.js';
import type { TemplateRun } from '../common/templates/templates.js';
import { ArrayOptions, type ArrayOptionsInput } from '../spec/array.js';
import { mergeSpecs, parseEnvPairs } from '../common/text/text-inputs.js';
import { connectionFromInputs, type ConnectionInputs } from './connection-inputs.js';
import { bool, collect, type Attempt, type InputReader, type Problems } from './input-values.js';
import { inputForPath, readSpecFile, specFromInputs } from './spec-inputs.js';
import { readTransferInputs, type TransferInputs } from './transfer-inputs.js';

export type { InputReader } from './input-values.js';

export interface ActionInputs extends ConnectionInputs {
  spec: ActionSpecInput;
  /** A template run instead of a spec: its name (and version), input and --set values. */
  template?: TemplateRun & { ref: string };
  actionId: string;
  /** Only an action-id, no image, spec-file or template: attach to that action and await it. */
  awaitOnly: boolean;
  wait: boolean;
  followLogs: boolean;
  /** Run an array of child actions instead of one (array-count or array-items). */
  array?: ArrayOptionsInput;
  uiUrl?: string;
  /** Files from the workspace into /in, and from /out back into the workspace. */
  transfer: TransferInputs;
}

export class InputError extends Error {
  constructor(readonly problems: { input: string; message: string }[]) {
    super(`invalid inputs:\n${problems.map((p) => `  - ${p.input}: ${p.message}`).join('\n')}`);
    this.name = 'InputError';
  }
}

const digest = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** A short name for one leg of a matrix job: a digest of its matrix values (the same on a re-run). */
function matrixLeg(matrixJson: string): string | undefined {
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

/** Only what reaching Temporal needs: for the post step, which cancels an action by its id. */
export function readConnectionInputs(
  actions: InputReader = core,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionInputs {
  const problems: Problems = [];
  const inputs = connectionFromInputs(actions, problems, env);
  if (problems.length) throw new InputError(problems);
  return inputs;
}

/**
 * A template run, or the spec with its file: a template brings its own spec, and takes only the
 * input and what it lets runs --set; a spec file is merged under the inputs, which win.
 */
function templateOrSpec(
  actions: InputReader,
  attempt: Attempt,
  problems: Problems,
  spec: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { whole: Record<string, unknown>; template?: ActionInputs['template'] } {
  const get = (name: string) => actions.getInput(name);
  if (get('template')) {
    const extra = Object.keys(spec).filter((k) => k !== 'input' && k !== 'inputs');
    if (extra.length || get('spec-file'))
      problems.push({
        input: 'template',
        message: `a template run takes input and set only; not ${[...extra.map(inputForPath), ...(get('spec-file') ? ['spec-file'] : [])].join(', ')}`,
      });
    const set = get('set')
      ? attempt('set', () => parseEnvPairs(actions.getMultilineInput('set').filter(Boolean)))
      : undefined;
    const template = { ref: get('template'), input: spec.input, set, inputs: spec.inputs as ActionSpecInput['inputs'] };
    return { whole: spec, template };
  }
  let whole = spec;
  if (get('spec-file')) {
    const fromFile = attempt('spec-file', () => readSpecFile(get('spec-file'), env.GITHUB_WORKSPACE || process.cwd()));
    if (fromFile) whole = mergeSpecs(fromFile, spec);
  }
  whole.source =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `github.com/${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID}`
      : undefined;
  return { whole };
}

/** The spec schema's problems, each named by the input its field comes from. */
function specIssues(whole: Record<string, unknown>, problems: Problems): void {
  const checked = checkActionSpec(whole);
  if (checked.success) return;
  for (const issue of checked.error.issues) {
    const path = issue.path.map(String).join('.');
    problems.push({ input: path ? inputForPath(path) : 'inputs', message: issue.message });
  }
}

/** The action-id input, or one made of the run, job and step (see defaultActionId). */
function actionIdInput(actions: InputReader, problems: Problems, env: NodeJS.ProcessEnv): string {
  const get = (name: string) => actions.getInput(name);
  const actionId = get('action-id') || defaultActionId(env, get('job-leg')) || `gh-${Date.now()}`;
  const idCheck = ActionId.safeParse(actionId);
  if (!idCheck.success) problems.push({ input: 'action-id', message: idCheck.error.issues[0]!.message });
  return actionId;
}

/**
 * A step that names an action-id and nothing to run (no spec field, spec-file, template or array)
 * awaits that action: it attaches instead of starting, so the spec need not be repeated.
 */
function isAwaitOnly(actions: InputReader, fromInputs: Record<string, unknown>): boolean {
  const runInputs = ['spec-file', 'template', 'array-count', 'array-items'];
  return (
    Boolean(actions.getInput('action-id')) &&
    Object.keys(fromInputs).length === 0 &&
    runInputs.every((name) => !actions.getInput(name))
  );
}

/** array-count or array-items, with parallelism and max-failures: undefined for a single action. */
function arrayInputs(actions: InputReader, attempt: Attempt, problems: Problems): ArrayOptionsInput | undefined {
  const get = (name: string) => actions.getInput(name);
  if (!get('array-count') && !get('array-items')) return undefined;
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
  const array = {
    ...(get('array-count') ? { count: whole('array-count', 1) } : {}),
    ...(Array.isArray(items) ? { items } : {}),
    ...(get('parallelism') ? { parallelism: whole('parallelism', 1) } : {}),
    ...(get('max-failures') ? { maxFailures: whole('max-failures', 0) } : {}),
  };
  const checked = ArrayOptions.safeParse(array);
  if (!checked.success)
    for (const issue of checked.error.issues)
      problems.push({ input: issue.path[0] === 'items' ? 'array-items' : 'array-count', message: issue.message });
  return array;
}

/** Every input at once: a bad input is a problem of its own, and all of them fail the step together. */
export function readInputs(actions: InputReader = core, env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const problems: Problems = [];
  const attempt: Attempt = (input, fn) => collect(problems, input, fn);
  const fromInputs = specFromInputs(actions, attempt);
  const awaitOnly = isAwaitOnly(actions, fromInputs);
  const { whole, template } = templateOrSpec(actions, attempt, problems, fromInputs, env);
  if (!template && !awaitOnly) specIssues(whole, problems);
  const actionId = actionIdInput(actions, problems, env);
  const array = arrayInputs(actions, attempt, problems);
  const wait = attempt('wait', () => bool(actions, 'wait', true)) ?? true;
  const followLogs = attempt('follow-logs', () => bool(actions, 'follow-logs', true)) ?? true;
  const connectionInputs = connectionFromInputs(actions, problems, env);
  const transfer = readTransferInputs(actions, attempt, problems);
  if (awaitOnly && transfer.upload.length)
    problems.push({ input: 'upload', message: 'awaiting an action by its id alone starts nothing to upload for' });
  if (array && transfer.download.length)
    problems.push({
      input: 'download',
      message: "an array's children each have their own /out: download one by its id",
    });

  if (problems.length) throw new InputError(problems);
  return {
    ...connectionInputs,
    spec: whole as ActionSpecInput,
    template,
    actionId,
    awaitOnly,
    wait,
    followLogs,
    array,
    uiUrl: actions.getInput('temporal-ui-url') || undefined,
    transfer,
  };
}
