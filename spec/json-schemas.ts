// The contract as JSON Schema (2020-12), generated from the zod schemas the code itself uses, for
// services in other languages: what to send the action workflow, and what it returns. Written to
// schema/ by `npm run schema`; a unit test fails when the files there drift from the code.
import { z } from 'zod';
import { ActionSpec } from './action.js';
import { ActionResultSchema } from './result.js';
import { FleetOptionsSchema, RunActionInputSchema } from './workflow-api.js';

const SCHEMA_BASE = 'https://caisson.dev/schema/';

/** File name under schema/ → its JSON Schema. Inputs are described as callers write them, results as the worker writes them. */
export function contractSchemas(): Record<string, unknown> {
  const input = (name: string, schema: z.ZodType, title: string) => ({
    $id: `${SCHEMA_BASE}${name}`,
    title,
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
  });
  const output = (name: string, schema: z.ZodType, title: string) => ({
    $id: `${SCHEMA_BASE}${name}`,
    title,
    ...z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }),
  });
  return {
    'action-spec.schema.json': input('action-spec.schema.json', ActionSpec, 'Caisson action spec'),
    'run-action-input.schema.json': input(
      'run-action-input.schema.json',
      RunActionInputSchema,
      'First argument of the runAction workflow',
    ),
    'fleet-options.schema.json': input(
      'fleet-options.schema.json',
      FleetOptionsSchema,
      'Second argument of the runAction workflow',
    ),
    'action-result.schema.json': output(
      'action-result.schema.json',
      ActionResultSchema,
      'Result of the runAction workflow (and result.json)',
    ),
  };
}

/** The text each file holds: stable key order as generated, two-space indent, final newline. */
export const schemaText = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;
