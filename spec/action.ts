// The action spec: one zod schema is the TypeScript type, the validation and the error messages,
// shared by the client, the CLI, the GitHub Action, the workflow and the worker.
import { z } from 'zod';
import { parseImageRef } from './image.js';
import { parseBytes, parseCpu, parseDuration, type Parsed } from './quantity.js';

/** A schema for a quantity given as a number or a string, parsed by one of spec/quantity.ts. */
const quantity = (parse: (value: number | string) => Parsed) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });

export const RESERVED_ENV = ['ACTION_ID', 'ACTION_RUN_ID', 'ACTION_ATTEMPT', 'ACTION_ARTIFACTS'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ACTION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const ActionId = z
  .string()
  .regex(ACTION_ID, 'an action id is 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit');

export const ExitReason = z.enum(['oom', 'timeout']);

/** The most JSON `input` an action takes on stdin: it travels in workflow history with the spec. */
export const MAX_INPUT_BYTES = 1 << 20;

export const Resources = z
  .object({
    cpu: quantity(parseCpu).optional(),
    memory: quantity(parseBytes)
      .refine((bytes) => bytes >= 6 * 2 ** 20, 'memory must be at least 6Mi (the engine refuses less)')
      .optional(),
    gpus: z
      .union([
        z.number().int().min(1, 'ask for at least 1 GPU, or leave gpus out'),
        z.literal('all'),
        z.array(z.string().min(1)).min(1, 'list at least one device id'),
      ])
      .optional(),
    pids: z.number().int().min(1, 'pids must allow at least 1 process').optional(),
    /** Room for /tmp_disk and for /out; together they make the container's disk budget. */
    tmpDisk: quantity(parseBytes).refine((b) => b >= 2 ** 20, 'tmpDisk must be at least 1Mi').optional(),
    outDisk: quantity(parseBytes).refine((b) => b >= 2 ** 20, 'outDisk must be at least 1Mi').optional(),
  })
  .strict();

export const ActionSpec = z
  .object({
    image: z.string().refine((image) => parseImageRef(image) !== undefined, {
      message: 'not an image reference: use "registry/repository:tag" or "registry/repository@sha256:…"',
    }),
    command: z.array(z.string()).min(1, 'command, when given, needs at least the program to run').optional(),
    args: z.array(z.string()).optional(),
    env: z
      .record(z.string(), z.string())
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          if (!ENV_NAME.test(name)) {
            ctx.addIssue({ code: 'custom', path: [name], message: 'environment names are letters, digits and "_", not starting with a digit' });
          } else if ((RESERVED_ENV as readonly string[]).includes(name)) {
            ctx.addIssue({ code: 'custom', path: [name], message: `reserved: ${RESERVED_ENV.join(', ')} are set by the worker` });
          }
        }
      })
      .optional(),
    workingDir: z.string().startsWith('/', 'workingDir must be an absolute path').optional(),
    user: z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'user is "name", "uid" or "uid:gid"').optional(),
    resources: Resources.default({}),
    timeout: quantity(parseDuration).default(3_600_000),
    network: z.enum(['none', 'host']).default('none'),
    input: z
      .json()
      .refine(
        (value) => new TextEncoder().encode(JSON.stringify(value)).length <= MAX_INPUT_BYTES,
        `input is larger than ${MAX_INPUT_BYTES} bytes as JSON (1 MiB): put large data in an artifact or a file the action downloads`,
      )
      .optional(),
    /**
     * When the host asks the registry: by default a tag is pulled at most once per the worker's pull
     * window and a digest never again once present; "always" pulls every time, "if-not-present"
     * only when the host lacks it, "never" runs what the host has.
     */
    pullPolicy: z.enum(['always', 'if-not-present', 'never']).optional(),
    output: z.enum(['text', 'json']).default('text'),
    artifacts: z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name').optional(),
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'prefix may hold letters, digits and !_.*\'()-/ only')
          .refine((prefix) => !prefix.split('/').includes('..'), 'prefix must not contain ".."')
          .optional(),
      })
      .strict()
      .default({}),
    retry: z
      .object({
        attempts: z.number().int().min(1).max(20).default(1),
        onExitCodes: z.array(z.number().int().min(1).max(255)).default([]),
        onReasons: z.array(ExitReason).default([]),
      })
      .strict()
      .default({ attempts: 1, onExitCodes: [], onReasons: [] }),
    collect: z.enum(['always', 'on-success', 'never']).default('always'),
    secrets: z
      .array(z.string().regex(ENV_NAME, 'secret names are letters, digits and "_", not starting with a digit'))
      .default([]),
    source: z.string().max(200).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const name of spec.secrets) {
      if (spec.env && name in spec.env) {
        ctx.addIssue({ code: 'custom', path: ['secrets'], message: `"${name}" is both an env variable and a secret` });
      }
    }
  });

/** What callers write (quantities as strings, defaults left out). */
export type ActionSpecInput = z.input<typeof ActionSpec>;
/** What the workflow and activities use (quantities in cores, bytes and milliseconds). */
export type Action = z.output<typeof ActionSpec>;

export interface SpecProblem {
  path: string;
  message: string;
}

export function specProblems(error: z.ZodError): SpecProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(spec)',
    message: issue.message,
  }));
}

export function formatProblems(problems: SpecProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}

export class InvalidSpecError extends Error {
  constructor(readonly problems: SpecProblem[]) {
    super(`invalid action spec:\n${formatProblems(problems)}`);
    this.name = 'InvalidSpecError';
  }
}

/** Parses a spec, throwing one error that lists every problem. */
export function parseActionSpec(input: unknown): Action {
  const result = ActionSpec.safeParse(input);
  if (!result.success) throw new InvalidSpecError(specProblems(result.error));
  return result.data;
}
