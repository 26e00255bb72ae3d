// The action spec: one zod schema is the TypeScript type, the validation and the error messages,
// shared by the client, the CLI, the GitHub Action, the workflow and the worker.
import { z } from 'zod';
import { HostPattern } from './egress.js';
import { parseImageRef } from './image.js';
import { parseBytes, parseCpu, parseDuration, type Parsed } from './quantity.js';
import { annotationMap, labelMap } from './labels.js';
import { once } from './shared.js';
import { containerProblems, containersSchema } from './containers.js';
import { MAX_REPLICAS } from './gang.js';

export { LABEL_PATTERN } from './labels.js';

/** A schema for a quantity given as a number or a string, parsed by one of spec/quantity.ts. */
const quantity = (parse: (value: number | string) => Parsed) =>
  z
    .custom<number | string>((v) => typeof v === 'number' || typeof v === 'string', {
      message: 'a number, or text such as "30s", "256Mi", "500m"',
    })
    .transform((value, ctx) => {
      const parsed = parse(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    })
    .meta({
      type: ['number', 'string'],
      description: 'a number, or text with a unit: durations "90s", "5m", "2h"; sizes "256Mi", "1G"; CPUs "500m", 1.5',
    });

const RESERVED_ENV = [
  'ACTION_ID',
  'ACTION_RUN_ID',
  'ACTION_ATTEMPT',
  'ACTION_ARTIFACTS',
  'ACTION_INDEX',
  'ACTION_COUNT',
] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/**
 * The sizes a spec may reach. Every one is checked before anything runs, so that a bad value is a
 * field error and never a failed start deep inside Temporal or the engine.
 */
export const LIMITS = {
  /** Docker's own limit for a reference. */
  imageChars: 255,
  /** One argument or env value: Linux's limit for a single string passed to a program. */
  stringBytes: 128 << 10,
  /** command, args and env together: well under Linux's limit for them all (ARG_MAX, 2 MiB). */
  argsAndEnvBytes: 1 << 20,
  items: 10_000,
  pathChars: 4096,
  userChars: 64,
  secrets: 100,
  /** How deeply `input` may nest (arrays and objects). */
  inputDepth: 64,
  /** An action's own labels, searched as ActionLabels. */
  labels: 32,
  /**
   * The labels as a JSON list of "name=value": one search attribute value, which Temporal refuses
   * over 2 KiB by default (limit.searchAttributesSizeOfValue).
   */
  labelListBytes: 2000,
  /** The whole spec as JSON: it travels in workflow history (Temporal refuses payloads over 2 MiB). */
  specBytes: (3 << 20) / 2,
} as const;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** A string with a maximum, and no NUL: no program can receive one. */
const text = (max: number, what: string, unit: 'characters' | 'bytes' = 'characters') =>
  z
    .string()
    .refine((s) => !s.includes('\0'), `${what} contains a NUL character, which no program can receive`)
    .refine((s) => (unit === 'bytes' ? utf8Bytes(s) : s.length) <= max, `${what} is longer than ${max} ${unit}`);

/**
 * The env map, checked as own properties only: a name such as "__proto__" or "toString" is an
 * ordinary name here, kept and passed on like any other.
 */
const EnvMap = once('action/EnvMap', () =>
  z
    .unknown()
    .transform((value, ctx) => {
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', message: 'env is an object of NAME: "value" pairs' });
        return z.NEVER;
      }
      const env: Record<string, string> = {};
      const entries = Object.entries(value);
      if (entries.length > LIMITS.items)
        ctx.addIssue({ code: 'custom', message: `more than ${LIMITS.items} variables` });
      for (const [name, v] of entries.slice(0, LIMITS.items)) {
        if (!ENV_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'environment names are 1-256 letters, digits and "_", not starting with a digit',
          });
        } else if ((RESERVED_ENV as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `reserved: ${RESERVED_ENV.join(', ')} are set by the worker`,
          });
        } else if (typeof v !== 'string') {
          ctx.addIssue({ code: 'custom', path: [name], message: 'an env value is a string' });
        } else if (v.includes('\0')) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'contains a NUL character, which no program can receive',
          });
        } else if (utf8Bytes(v) > LIMITS.stringBytes) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `longer than ${LIMITS.stringBytes} bytes (Linux's limit for one value): pass large data as input or a file`,
          });
        }
        Object.defineProperty(env, name, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return env;
    })
    .meta({
      type: 'object',
      description: 'NAME: "value" pairs; names ACTION_* that the worker sets are reserved',
      propertyNames: { pattern: ENV_NAME.source },
      additionalProperties: { type: 'string' },
    }),
);

/**
 * A JSON value of bounded depth, checked without recursion: a deeply nested value is a field error,
 * not a stack overflow in the client or the workflow.
 */
const JsonInput = once('action/JsonInput', () =>
  z
    .unknown()
    .superRefine((value, ctx) => {
      const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
      while (stack.length) {
        const { v, depth } = stack.pop()!;
        if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
        if (typeof v === 'number') {
          if (!Number.isFinite(v))
            return ctx.addIssue({ code: 'custom', message: `input holds ${v}, which JSON cannot carry` });
          continue;
        }
        if (typeof v !== 'object')
          return ctx.addIssue({ code: 'custom', message: `input holds a ${typeof v}, which JSON cannot carry` });
        if (depth >= LIMITS.inputDepth) {
          return ctx.addIssue({
            code: 'custom',
            message: `input nests deeper than ${LIMITS.inputDepth} levels: flatten it, or put it in an artifact`,
          });
        }
        for (const child of Object.values(v)) stack.push({ v: child, depth: depth + 1 });
      }
      if (utf8Bytes(JSON.stringify(value)) > MAX_INPUT_BYTES) {
        ctx.addIssue({
          code: 'custom',
          message: `input is larger than ${MAX_INPUT_BYTES} bytes as JSON (1 MiB): put large data in an artifact or a file the action downloads`,
        });
      }
    })
    .meta({ description: 'any JSON value, at most 1 MiB as JSON; given to the container on stdin' }),
);

const ACTION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const ActionId = once('action/ActionId', () =>
  z
    .string()
    .regex(ACTION_ID, 'an action id is 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit'),
);

const ExitReason = once('action/ExitReason', () => z.enum(['oom', 'timeout', 'engine-restarted']));

/** The most JSON `input` an action takes on stdin: it travels in workflow history with the spec. */
export const MAX_INPUT_BYTES = 1 << 20;

const memoryQuantity = () =>
  quantity(parseBytes).refine((bytes) => bytes >= 6 * 2 ** 20, 'memory must be at least 6Mi (the engine refuses less)');

const Resources = once('action/Resources', () =>
  z
    .object({
      cpu: quantity(parseCpu).optional(),
      memory: memoryQuantity().optional(),
      gpus: z
        .union([
          z.number().int().min(1, 'ask for at least 1 GPU, or leave gpus out'),
          z.literal('all'),
          z.array(z.string().min(1)).min(1, 'list at least one device id'),
        ])
        .optional(),
      pids: z.number().int().min(1, 'pids must allow at least 1 process').optional(),
      /** Room for /tmp_disk and for /out; together they make the container's disk budget. */
      tmpDisk: quantity(parseBytes)
        .refine((b) => b >= 2 ** 20, 'tmpDisk must be at least 1Mi')
        .optional(),
      outDisk: quantity(parseBytes)
        .refine((b) => b >= 2 ** 20, 'outDisk must be at least 1Mi')
        .optional(),
      /**
       * The most of the container's log kept: the engine keeps the newest this much on the host, the
       * live log in S3 stops at this much. Default from the worker's policy (512Mi).
       */
      logSize: quantity(parseBytes)
        .refine((b) => b >= 8 * 2 ** 20, 'logSize must be at least 8Mi')
        .optional(),
    })
    .strict(),
);

/** Host labels ("zone": "a", "disk": "nvme"): names and values as Kubernetes allows them, 20 at most. */
const MAX_LABELS = 20;
const Labels = once('action/Labels', () => labelMap(MAX_LABELS));

/** An action's own labels and annotations: the spec's fields, and what interLink checks a pod's metadata against. */
export const ActionLabels = once('action/ActionLabels', () => labelMap(LIMITS.labels, LIMITS.labelListBytes));
export const Annotations = once('action/Annotations', () => annotationMap());

const Placement = once('action/Placement', () =>
  z
    .object({
      /** Only hosts carrying every one of these labels run the action. */
      require: Labels.optional(),
      /** Hosts carrying these are chosen first while one of them is up (for up to 30 s of waiting). */
      prefer: Labels.optional(),
    })
    .strict(),
);

/**
 * A path in the container: absolute, without ".", ".." or empty parts, so that what it names is
 * plain to read and cannot climb out of the folder it is checked against.
 */
const containerPath = (what: string) =>
  text(LIMITS.pathChars, what).refine(
    (p) =>
      p.startsWith('/') &&
      p.length > 1 &&
      !p
        .slice(1)
        .split('/')
        .some((part) => part === '' || part === '.' || part === '..'),
    `${what} is an absolute path without ".", ".." or empty parts (and not "/" itself)`,
  );

/** `child` is `parent` or lies inside it. */
export const pathWithin = (child: string, parent: string) => child === parent || child.startsWith(`${parent}/`);

/** Where inputs appear in the container (read-only): every input's `to` lies in it. */
export const INPUTS_DIR = '/in';
/** Folders the worker mounts into the container: files cannot be written there. */
export const MOUNTED_DIRS = ['/out', '/tmp_disk', INPUTS_DIR] as const;
const MAX_INPUTS = 100;
const MAX_FILES = 100;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

/** "s3://bucket/key", or "s3://bucket/prefix/" for every object under the prefix. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = S3_URI.exec(uri);
  return m && BUCKET_NAME.test(m[1]!) ? { bucket: m[1]!, key: m[2]! } : undefined;
}

/** A relative path of an object under an action's folder ("out/model.bin", or "out/" for all of /out). */
const actionPath = once('action/actionPath', () =>
  text(1024, 'path').refine(
    (p) =>
      !p.startsWith('/') &&
      !p
        .replace(/\/$/, '')
        .split('/')
        .some((part) => part === '' || part === '.' || part === '..'),
    'path is relative to the action\'s folder ("out/model.bin", or "out/" for every file of its /out), without ".", ".." or empty parts',
  ),
);

/**
 * Data staged into /in before the container starts: an S3 object or prefix, or what an earlier
 * action stored (its /out, its logs). A `from` or `path` ending in "/" is a prefix: every object
 * under it lands under `to`, at its path below the prefix.
 */
const InputArtifact = once('action/InputArtifact', () =>
  z
    .object({
      from: z
        .string()
        .max(1100)
        .refine(
          (uri) => parseS3Uri(uri) !== undefined,
          'from is "s3://bucket/key", or "s3://bucket/prefix/" for every object under it',
        )
        .optional(),
      fromAction: ActionId.optional(),
      path: actionPath.optional(),
      to: containerPath('to').refine(
        (p) => pathWithin(p, INPUTS_DIR),
        `to is a path under ${INPUTS_DIR}/ (inputs are mounted there, read-only)`,
      ),
    })
    .strict()
    .superRefine((input, ctx) => {
      if ((input.from === undefined) === (input.fromAction === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give either from (an S3 URI) or fromAction with path' });
      } else if (input.fromAction !== undefined && input.path === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['path'],
          message: 'fromAction needs path: the object under that action\'s folder, e.g. "out/model.bin"',
        });
      } else if (input.from !== undefined && input.path !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['path'],
          message: 'path goes with fromAction; for an S3 input put the whole key in from',
        });
      }
    }),
);

const SecretName = once('action/SecretName', () =>
  z.string().regex(ENV_NAME, 'secret names are 1-256 letters, digits and "_", not starting with a digit'),
);

/** A file written into the container before it starts (a config file): its text, or a secret's value. */
const ContainerFile = once('action/ContainerFile', () =>
  z
    .object({
      path: containerPath('path').refine(
        (p) => !MOUNTED_DIRS.some((dir) => pathWithin(p, dir)),
        `path may not lie in ${MOUNTED_DIRS.join(', ')}: the worker mounts those folders`,
      ),
      content: text(LIMITS.stringBytes * 8, 'content', 'bytes').optional(),
      contentFromSecret: SecretName.optional(),
      mode: z
        .union(
          [
            z.number().int().min(0).max(0o7777),
            z
              .string()
              .regex(/^0?[0-7]{3,4}$/, 'mode is octal text such as "0644" or "600"')
              .transform((m) => parseInt(m, 8)),
          ],
          { message: 'mode is octal text such as "0644", or a number' },
        )
        .default(0o644),
    })
    .strict()
    .superRefine((file, ctx) => {
      if ((file.content === undefined) === (file.contentFromSecret === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give either content or contentFromSecret' });
      }
    }),
);

/** A template's name and version as a run records it: "name@version". */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const TEMPLATE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** The S3 bucket and key prefix the action's files are kept under, when the spec names them. */
const Artifacts = once('action/Artifacts', () =>
  z
    .object({
      bucket: z.string().regex(BUCKET_NAME, 'not an S3 bucket name').optional(),
      prefix: z
        .string()
        .max(512, 'prefix is at most 512 characters (S3 keys are at most 1024 bytes, and the files of /out need room)')
        .regex(/^[A-Za-z0-9!_.*'()/-]*$/, "prefix may hold letters, digits and !_.*'()-/ only")
        // S3 servers refuse keys with "." or ".." parts, and "a//b" would be a folder without a name.
        .refine(
          (prefix) =>
            !prefix
              .replace(/^\/+|\/+$/g, '')
              .split('/')
              .some((part, _, parts) => part === '.' || part === '..' || (part === '' && parts.length > 1)),
          'prefix must not hold "." or ".." parts or an empty part ("a//b")',
        )
        .optional(),
    })
    .strict(),
);

/** How many attempts, and what a failed one must have ended with (exit code, reason) to be tried again. */
const Retry = once('action/Retry', () =>
  z
    .object({
      attempts: z.number().int().min(1).max(20).default(1),
      onExitCodes: z.array(z.number().int().min(1).max(255)).default([]),
      onReasons: z.array(ExitReason).default([]),
    })
    .strict(),
);

/** "name@version" of a template, as a run made from it records it. */
const TemplateRef = once('action/TemplateRef', () =>
  z
    .string()
    .max(128)
    .refine((t) => {
      const [name, version, more] = t.split('@');
      return more === undefined && TEMPLATE_NAME.test(name ?? '') && TEMPLATE_VERSION.test(version ?? '');
    }, 'template is "name@version"'),
);

/** What runs in a container: the top-level one's fields, and each of `containers`. */
const containerFields = () => ({
  image: text(LIMITS.imageChars, 'image').refine((image) => parseImageRef(image) !== undefined, {
    message: 'not an image reference: use "registry/repository:tag" or "registry/repository@sha256:…"',
  }),
  command: z
    .array(text(LIMITS.stringBytes, 'an argument', 'bytes'))
    .min(1, 'command, when given, needs at least the program to run')
    .max(LIMITS.items)
    .optional(),
  args: z
    .array(text(LIMITS.stringBytes, 'an argument', 'bytes'))
    .max(LIMITS.items)
    .optional(),
  env: EnvMap.optional(),
  workingDir: text(LIMITS.pathChars, 'workingDir')
    .pipe(z.string().startsWith('/', 'workingDir must be an absolute path'))
    .optional(),
});

/** The spec's fields, each checked alone; SPEC_RULES check them against each other. */
const ActionSpecFields = once('action/ActionSpecFields', () =>
  z
    .object({
      ...containerFields(),
      user: z
        .string()
        .max(LIMITS.userChars, `user is at most ${LIMITS.userChars} characters`)
        .regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'user is "name", "uid" or "uid:gid"')
        .optional(),
      resources: Resources.default({}),
      timeout: quantity(parseDuration).default(3_600_000),
      /**
       * The whole job's time limit, from the start: waiting for a host, pulls, retries and every
       * attempt. When it passes, the container is stopped, /out collected, and the action ends FAILED
       * with reason "deadline". `timeout` bounds one attempt's run.
       */
      deadline: quantity(parseDuration).optional(),
      /**
       * "none": loopback only. "host": the host's own network, where the host's policy allows it.
       * "egress": only an HTTP(S) proxy on the host reaching the names the host's policy allows
       * (HTTP_PROXY and HTTPS_PROXY are set), narrowed further by `egress.allow` when given.
       * "gang": with `replicas`, the gang's own network: replicas reach each other (on one host
       * directly, across hosts on the port each one's host publishes), and nothing else.
       */
      network: z.enum(['none', 'host', 'egress', 'gang']).default('none'),
      /** With network "egress": the names this action needs, within those the host allows. */
      egress: z
        .object({
          allow: z.array(HostPattern).min(1, 'egress.allow names at least one host').max(100),
        })
        .strict()
        .optional(),
      input: JsonInput.optional(),
      /**
       * When the host asks the registry: by default a tag is pulled at most once per the worker's pull
       * window and a digest never again once present; "always" pulls every time, "if-not-present"
       * only when the host lacks it, "never" runs what the host has.
       */
      pullPolicy: z.enum(['always', 'if-not-present', 'never']).optional(),
      output: z.enum(['text', 'json']).default('text'),
      artifacts: Artifacts.default({}),
      retry: Retry.default({ attempts: 1, onExitCodes: [], onReasons: [] }),
      collect: z.enum(['always', 'on-success', 'never']).default('always'),
      secrets: z.array(SecretName).max(LIMITS.secrets, `at most ${LIMITS.secrets} secrets`).default([]),
      source: text(200, 'source').optional(),
      placement: Placement.optional(),
      /**
       * Runs this many copies as one gang (with `gang: true`): all placed at once or none, each told
       * RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and when one fails the others are stopped and
       * the whole gang runs again under `retry`.
       */
      replicas: z
        .number()
        .int()
        .min(1, 'replicas is at least 1')
        .max(MAX_REPLICAS, `replicas is at most ${MAX_REPLICAS}`)
        .optional(),
      gang: z.literal(true).optional(),
      /** The action's own labels ("team": "vision"), searchable: `caisson list -l team=vision`, ActionLabels. */
      labels: ActionLabels.optional(),
      /** Free-text notes on the action, kept in its memo and shown by status; not searchable. */
      annotations: Annotations.optional(),
      inputs: z
        .array(InputArtifact)
        .max(MAX_INPUTS, `at most ${MAX_INPUTS} inputs (a prefix brings many objects in one)`)
        .default([]),
      files: z.array(ContainerFile).max(MAX_FILES, `at most ${MAX_FILES} files`).default([]),
      /** The template this spec was made from ("name@version"), for the ActionTemplate search attribute. */
      template: TemplateRef.optional(),
      /** More containers beside the top-level one (spec/containers.ts): init containers, sidecars, other mains. */
      containers: containersSchema({
        ...containerFields(),
        cpu: quantity(parseCpu).optional(),
        memory: memoryQuantity().optional(),
      }).optional(),
      /** JSON Schema (2020-12) that stdout, parsed as JSON, must meet; a run whose output does not ends output-invalid. */
      outputSchema: z
        .union([z.boolean(), z.record(z.string(), z.unknown())], {
          message: 'outputSchema is a JSON Schema: an object (or true/false)',
        })
        .optional(),
    })
    .strict(),
);

type SpecFields = z.output<typeof ActionSpecFields>;
type SpecRule = (spec: SpecFields, ctx: z.RefinementCtx<SpecFields>) => void;

/** command, args and env must fit together in what Linux passes to a program. */
const argvFits: SpecRule = (spec, ctx) => {
  const argv = [
    ...(spec.command ?? []),
    ...(spec.args ?? []),
    ...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const argvBytes = argv.reduce((sum, a) => sum + utf8Bytes(a) + 1, 0);
  if (argvBytes > LIMITS.argsAndEnvBytes) {
    ctx.addIssue({
      code: 'custom',
      path: ['env'],
      message: `command, args and env hold ${argvBytes} bytes together; at most ${LIMITS.argsAndEnvBytes} (pass large data as input or a file)`,
    });
  }
};

/** Each input lands in a place of its own: none inside another's. */
const inputsApart: SpecRule = (spec, ctx) => {
  spec.inputs.forEach((input, i) => {
    spec.inputs.slice(0, i).forEach((other, j) => {
      if (pathWithin(input.to, other.to) || pathWithin(other.to, input.to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', i, 'to'],
          message: `${input.to} overlaps inputs.${j}.to (${other.to}): give each input a place of its own`,
        });
      }
    });
  });
};

/** Each file path is written once: a second would silently replace the first. */
const filesOnce: SpecRule = (spec, ctx) => {
  spec.files.forEach((file, i) => {
    const j = spec.files.findIndex((other) => other.path === file.path);
    if (j < i)
      ctx.addIssue({
        code: 'custom',
        path: ['files', i, 'path'],
        message: `${file.path} is written by files.${j} already`,
      });
  });
};

/** An output schema checks JSON: it needs output "json". */
const outputSchemaOnJson: SpecRule = (spec, ctx) => {
  if (spec.outputSchema !== undefined && spec.output !== 'json') {
    ctx.addIssue({
      code: 'custom',
      path: ['outputSchema'],
      message: 'outputSchema checks JSON output: set output to "json"',
    });
  }
};

/** A secret is given as an env variable: one of the same name in env would hide it or be hidden. */
const secretsNotInEnv: SpecRule = (spec, ctx) => {
  for (const name of spec.secrets) {
    if (spec.env && Object.hasOwn(spec.env, name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secrets'],
        message: `"${name}" is both an env variable and a secret`,
      });
    }
  }
};

/** An egress list narrows the egress network: with any other network it would say nothing. */
const egressOnEgress: SpecRule = (spec, ctx) => {
  if (spec.egress !== undefined && spec.network !== 'egress') {
    ctx.addIssue({
      code: 'custom',
      path: ['egress'],
      message: 'egress.allow narrows network "egress": set network to "egress"',
    });
  }
};

/** Replicas run as one gang, said so; the gang's network needs one. */
const gangSaid: SpecRule = (spec, ctx) => {
  const replicas = spec.replicas ?? 1;
  if (replicas > 1 && !spec.gang) {
    ctx.addIssue({
      code: 'custom',
      path: ['gang'],
      message:
        'replicas runs its copies as one gang: add gang: true (independent copies of one spec are an array: array.count)',
    });
  }
  if (spec.network === 'gang' && replicas < 2) {
    ctx.addIssue({
      code: 'custom',
      path: ['network'],
      message: 'network "gang" joins the replicas of a gang: set replicas (2 or more) and gang: true',
    });
  }
  if (spec.gang && replicas < 2) {
    ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'a gang has 2 or more replicas' });
  }
};

/** The containers' own cpu and memory fit in the action's. */
const containersFit: SpecRule = (spec, ctx) => {
  for (const problem of containerProblems(spec)) ctx.addIssue({ code: 'custom', ...problem });
};

/** The rules across fields, in the order their problems are reported. */
const SPEC_RULES: SpecRule[] = [
  argvFits,
  inputsApart,
  filesOnce,
  outputSchemaOnJson,
  secretsNotInEnv,
  egressOnEgress,
  gangSaid,
  containersFit,
];

export const ActionSpec = once('action/ActionSpec', () =>
  ActionSpecFields.superRefine((spec, ctx) => {
    for (const rule of SPEC_RULES) rule(spec, ctx);
  }),
);

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

/**
 * Checks a spec: every problem at once. The size of the whole is checked first, so that a spec
 * too large for workflow history is one clear error and not a refused start.
 */
export function checkActionSpec(input: unknown): ReturnType<typeof ActionSpec.safeParse> {
  let bytes = 0;
  try {
    bytes = utf8Bytes(JSON.stringify(input) ?? '');
  } catch {
    // Too deep or cyclic to serialise: the schema says which field.
  }
  if (bytes > LIMITS.specBytes) {
    return {
      success: false,
      error: new z.ZodError([
        {
          code: 'custom',
          path: [],
          message: `the spec is ${bytes} bytes as JSON; at most ${LIMITS.specBytes} (put large data in an artifact)`,
          input,
        },
      ]),
    } as ReturnType<typeof ActionSpec.safeParse>;
  }
  return ActionSpec.safeParse(input);
}

/** Parses a spec, throwing one error that lists every problem. */
export function parseActionSpec(input: unknown): Action {
  const result = checkActionSpec(input);
  if (!result.success) throw new InvalidSpecError(specProblems(result.error));
  return result.data;
}

/** Every secret the spec names: given as env (secrets) or written as a file's content. */
export function secretsOf(spec: Pick<Action, 'secrets' | 'files'>): string[] {
  return [
    ...new Set([
      ...spec.secrets,
      ...(spec.files ?? []).flatMap((f) => (f.contentFromSecret ? [f.contentFromSecret] : [])),
    ]),
  ];
}
