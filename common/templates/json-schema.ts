// JSON Schema (2020-12) checks, with ajv: a template's input before anything runs, an action's
// output after it ran. Every problem is reported, each with the JSON pointer of the value it is about.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export interface SchemaProblem {
  /** Where in the checked value ("" is the value itself, "/items/0/name" a nested one). */
  pointer: string;
  message: string;
}

// strict off: schemas written for other validators (unknown keywords, formats) still compile.
const ajv = new Ajv2020({ allErrors: true, strict: false });
/** Compiled schemas by their text; bounded, as workers see schemas from many templates. */
const compiled = new Map<string, ValidateFunction>();
const COMPILED_KEPT = 200;

function problemOf(e: ErrorObject): SchemaProblem {
  const extra =
    e.keyword === 'additionalProperties'
      ? ` ("${(e.params as { additionalProperty: string }).additionalProperty}")`
      : e.keyword === 'enum'
        ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
        : '';
  return { pointer: e.instancePath, message: `${e.message ?? e.keyword}${extra}` };
}

/** Why `schema` is not a usable JSON Schema, or undefined when it is. */
export function schemaProblem(schema: unknown): string | undefined {
  try {
    validator(schema);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function validator(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      throw new Error('a JSON Schema is an object (or true/false)');
    }
    validate = ajv.compile(schema as object);
    if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, validate);
  }
  return validate;
}

/** Every way `value` does not meet `schema` (none: it does). A schema that does not compile is one problem. */
export function schemaProblems(schema: unknown, value: unknown): SchemaProblem[] {
  let validate: ValidateFunction;
  try {
    validate = validator(schema);
  } catch (err) {
    return [{ pointer: '', message: `the schema itself is not valid: ${(err as Error).message}` }];
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map(problemOf);
}
