// What `caisson run` (and `caisson schedule create|update`) is asked to run: a spec from flags, a
// spec file with flags over it, or a template by name with its input, data and --set values.
import type { ActionsClient } from '../client/index.js';
import { DataFileError, MAX_DATA_FILE_BYTES, parseData, readDataFile } from '../common/text/data-file.js';
import { parseEnvPairs } from '../common/text/text-inputs.js';
import type { TemplateRun } from '../common/templates/templates.js';
import type { ActionSpecInput } from '../spec/action.js';
import { inputsFromFlag, mergeSpecs, specFromFlags, UsageError, type RunFlags } from './spec-from-flags.js';

/** The spec flags' values under their flag names, as options.ts gives them. */
type SpecValues = RunFlags & { file?: string; 'input-file'?: string; set?: string[]; template?: string };

/** Flags that are not about what runs: a template run may carry them. */
const NOT_SPEC = ['input', 'input-file', 'set', 'in', 'template'];

export type RunRequest = { spec: ActionSpecInput } | { template: string; run: TemplateRun };

/** A spec file, or the spec on stdin for "-" (bounded as a file is). */
async function readSpecFile(path: string): Promise<unknown> {
  if (path !== '-') return readDataFile(path);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DATA_FILE_BYTES) throw new DataFileError(`stdin: more than ${MAX_DATA_FILE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return parseData(Buffer.concat(chunks).toString('utf8'), 'stdin');
}

function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${flag} is not JSON: ${(e as Error).message}`);
  }
}

function parsePairs(flag: string, pairs: string[]): Record<string, string> {
  try {
    return parseEnvPairs(pairs);
  } catch (e) {
    throw new UsageError(`${flag} ${(e as Error).message}`);
  }
}

/**
 * The request the flags make. `target` is IMAGE, or a template NAME[@VERSION] (a name has no "/";
 * an image always names its registry); `--template` names one explicitly. `ignored` are flags of
 * the command itself (--id, --json, …), never counted as spec flags.
 */
export async function runRequest(
  values: SpecValues & Record<string, unknown>,
  target: string | undefined,
  command: string[],
  ignored: string[],
): Promise<RunRequest> {
  if (values.input !== undefined && values['input-file'] !== undefined)
    throw new UsageError('--input and --input-file exclude each other');
  const input =
    values['input-file'] !== undefined
      ? await readDataFile(values['input-file'])
      : values.input !== undefined
        ? parseJsonFlag('--input', values.input)
        : undefined;
  const template =
    values.template ?? (!values.file && target !== undefined && !target.includes('/') ? target : undefined);
  if (template) {
    const extra = Object.entries(values).filter(
      ([k, v]) => v !== undefined && !NOT_SPEC.includes(k) && !ignored.includes(k),
    );
    if (extra.length || command.length || (values.template && target !== undefined)) {
      const what = [
        ...extra.map(([k]) => `--${k}`),
        ...(command.length ? ['a command'] : []),
        ...(values.template && target ? [target] : []),
      ];
      throw new UsageError(
        `a template run takes --input, --input-file, --in and --set (what the template allows); not ${what.join(', ')}`,
      );
    }
    const set = values.set?.length ? parsePairs('--set', values.set) : undefined;
    const inputs = values.in?.length ? inputsFromFlag(values.in) : undefined;
    return { template, run: { input, set, inputs } };
  }
  if (values.set?.length) throw new UsageError('--set is for template runs; give spec fields as flags');
  const flags = { ...values, input: undefined } as RunFlags;
  let spec: Record<string, unknown>;
  if (values.file) {
    const fromFile = await readSpecFile(values.file);
    if (!fromFile || typeof fromFile !== 'object' || Array.isArray(fromFile))
      throw new UsageError(`${values.file}: a spec is a mapping of fields (image, command, …)`);
    spec = mergeSpecs(
      fromFile as Record<string, unknown>,
      specFromFlags(target, command, flags) as Record<string, unknown>,
    );
  } else {
    if (target === undefined) throw new UsageError('give an IMAGE, a template NAME, or -f SPEC.yaml');
    spec = specFromFlags(target, command, flags) as Record<string, unknown>;
  }
  if (input !== undefined) spec.input = input;
  return { spec: spec as ActionSpecInput };
}

/** The spec a request stands for: a template's is made from its stored definition now. */
export async function specOf(client: ActionsClient, request: RunRequest): Promise<ActionSpecInput> {
  return 'spec' in request ? request.spec : client.templateSpec(request.template, request.run);
}
