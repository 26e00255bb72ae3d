// How the text of one input of the GitHub Action becomes a value, and how a bad one becomes a
// problem that names the input instead of failing the step at the first.
import type * as core from '@actions/core';

/** Where inputs come from: @actions/core itself (INPUT_* variables), or a stand-in in tests. */
export type InputReader = Pick<typeof core, 'getInput' | 'getBooleanInput' | 'getMultilineInput'>;

export type Problems = { input: string; message: string }[];

/** Runs fn; a throw becomes a problem of the input instead (see collect). */
export type Attempt = <T>(input: string, fn: () => T) => T | undefined;

/** A list input: a JSON array, or one item per line (blank lines skipped). */
export function list(actions: InputReader, name: string): string[] | undefined {
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
export function bool(actions: InputReader, name: string, fallback: boolean): boolean {
  if (!actions.getInput(name)) return fallback;
  try {
    return actions.getBooleanInput(name);
  } catch {
    throw new Error(`true or false (also True, TRUE, False, FALSE), not ${JSON.stringify(actions.getInput(name))}`);
  }
}

/** Runs fn; a throw becomes a problem of the input instead. */
export function collect<T>(problems: Problems, input: string, fn: () => T): T | undefined {
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
