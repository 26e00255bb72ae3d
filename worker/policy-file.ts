// The worker's policy file (CAISSON_POLICY_FILE): JSON, checked with zod at start so that a typo
// stops the worker with the field named instead of letting actions through. Without a file the
// built-in policy applies (activities/trust/policy.ts, DEFAULT_POLICY).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_POLICY, RESERVED_ENV_PATTERNS, type Policy } from '../activities/trust/policy.js';
import type { SecretGrant } from '../activities/trust/secret-grants.js';
import { HostPattern } from '../spec/egress.js';
import { parseImageRef } from '../spec/image.js';
import { parseBytes, parseCpu, parseDuration, type Parsed } from '../spec/quantity.js';

const quantity = (parse: (text: number | string) => Parsed) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });

const patterns = z.array(z.string().min(1)).max(1000);

const Limits = {
  memory: quantity(parseBytes).optional(),
  cpu: quantity(parseCpu).optional(),
  pids: z.number().int().min(1).optional(),
  outDisk: quantity(parseBytes).optional(),
  tmpDisk: quantity(parseBytes).optional(),
  logSize: quantity(parseBytes).optional(),
};

/**
 * A secret's grant binds what receives it (activities/trust/secret-grants.ts): an image digest with its
 * argv, or a template version. An image name alone is refused: anyone who may start that image
 * could print the secret.
 */
const ImageGrant = z
  .object({
    image: z
      .string()
      .refine(
        (image) => parseImageRef(image)?.digest !== undefined,
        'image is "registry/repository@sha256:<digest>": a grant names the digest',
      ),
    command: z.array(z.string()).max(1000).optional(),
    env: z.array(z.string().min(1)).max(1000).optional(),
    files: z.array(z.string().startsWith('/')).max(1000).optional(),
    workingDir: z.string().startsWith('/').optional(),
  })
  .strict();
const TemplateGrant = z
  .object({
    template: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}@[A-Za-z0-9._+-]{1,64}$/, 'template is "name@version"'),
  })
  .strict();

const SecretGrantSchema = z.unknown().transform((value, ctx): SecretGrant => {
  if (typeof value === 'string') {
    ctx.addIssue({
      code: 'custom',
      message: `a grant names what runs, not an image alone ("${value}" would let anyone who may start it print the secret): { "image": "repo@sha256:…", "command": [...] } or { "template": "name@version" }`,
    });
    return z.NEVER;
  }
  const parsed = (value && typeof value === 'object' && 'template' in value ? TemplateGrant : ImageGrant).safeParse(
    value,
  );
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

const PolicyFile = z
  .object({
    /** Image patterns; when given, they replace CAISSON_ALLOWED_IMAGES. Empty: nothing runs. */
    images: patterns.optional(),
    defaults: z.object(Limits).strict().default({}),
    ceilings: z
      .object({ ...Limits, gpus: z.number().int().min(0).optional(), timeout: quantity(parseDuration).optional() })
      .strict()
      .default({}),
    hostNetwork: patterns.default([]),
    /** Who may ask for network "egress", and the names its proxy reaches; absent: no egress. */
    egress: z
      .object({ images: patterns.min(1), allow: z.array(HostPattern).min(1).max(1000) })
      .strict()
      .optional(),
    /** Who may ask for network "gang" (image patterns); absent: no gang network. */
    gang: z
      .object({ images: patterns.min(1) })
      .strict()
      .optional(),
    buckets: z
      .array(z.string().regex(/^(\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/, 'an S3 bucket name, or "*"'))
      .default([]),
    reads: z
      .array(
        z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'an S3 URI prefix, "s3://bucket/prefix/"'),
      )
      .max(1000)
      .optional(),
    secrets: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'a secret name'), z.array(SecretGrantSchema).max(100))
      .default({}),
    /** Containers run as a numeric uid other than 0, named in the spec's `user`. */
    runAsNonRoot: z.boolean().optional(),
    /** The `user` values an action may name ("1000", "1000:1000"); "*" or absent: any. */
    users: z
      .array(z.string().regex(/^(\*|[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?)$/, '"*", a user name, "uid" or "uid:gid"'))
      .max(1000)
      .optional(),
    /** Containers' own filesystems are read-only; /tmp is a tmpfs counted as memory. */
    readOnlyRootfs: z.boolean().optional(),
    /** Added to the names reserved anyway (ACTION_*, NVIDIA_*, device selectors). */
    reservedEnv: z.array(z.string().min(1)).default([]),
  })
  .strict();

export function loadPolicy(path: string | undefined): { policy: Policy; images?: string[] } {
  if (!path) return { policy: DEFAULT_POLICY };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`policy file ${path} (CAISSON_POLICY_FILE) cannot be read as JSON: ${(err as Error).message}`);
  }
  const parsed = PolicyFile.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  - ${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new Error(`invalid policy file ${path} (CAISSON_POLICY_FILE):\n${lines.join('\n')}`);
  }
  const { images, reservedEnv, ...rest } = parsed.data;
  for (const [field, value] of Object.entries(rest.defaults)) {
    const ceiling = (rest.ceilings as Record<string, number | undefined>)[field];
    if (value !== undefined && ceiling !== undefined && value > ceiling) {
      throw new Error(
        `invalid policy file ${path} (CAISSON_POLICY_FILE):\n  - defaults.${field}: above ceilings.${field}`,
      );
    }
  }
  return { policy: { ...rest, reservedEnv: [...RESERVED_ENV_PATTERNS, ...reservedEnv] }, images };
}
