// Action templates: a named, versioned action definition (image pinned to a digest, command, limits,
// the JSON Schemas of its input and output), registered once and run by name. Versions are
// immutable. They are stored as S3 objects ("<prefix>/<name>/<version>.json") in the fleet's
// bucket, so every client and host sees the same ones; a run made from one is an ordinary action
// whose spec records "name@version".
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import {
  InvalidSpecError,
  TEMPLATE_NAME,
  TEMPLATE_VERSION,
  checkActionSpec,
  specProblems,
  type ActionSpecInput,
  type SpecProblem,
} from '../../spec/action.js';
import { isMissingObject } from '../storage/s3-client.js';
import { schemaProblem, schemaProblems } from './json-schema.js';
import { pinImage } from './registry-digest.js';

const JsonSchema = z.union([z.boolean(), z.record(z.string(), z.unknown())], {
  message: 'a JSON Schema: an object (or true/false)',
});

/** Spec fields a run supplies itself, never a template. */
const RUN_FIELDS = ['input', 'template', 'outputSchema'] as const;

/** What `caisson template register FILE` reads. */
export const TemplateDefinition = z
  .object({
    name: z
      .string()
      .regex(TEMPLATE_NAME, 'name is 1-63 lower-case letters, digits and "-", starting with a letter or digit'),
    version: z.string().regex(TEMPLATE_VERSION, 'version is 1-64 letters, digits, ".", "_", "+" or "-" ("1.2.0")'),
    description: z.string().max(2000).optional(),
    /** The action: any spec fields but input (each run's own), template and outputSchema. */
    spec: z.record(z.string(), z.unknown()),
    inputSchema: JsonSchema.optional(),
    outputSchema: JsonSchema.optional(),
    /** What a run may change with --set: "env.NAME", "env.*", "resources.memory", "timeout", … */
    overrides: z
      .array(
        z
          .string()
          .regex(
            /^(env\.([A-Za-z_][A-Za-z0-9_]*|\*)|resources\.(cpu|memory|pids|outDisk|tmpDisk|logSize)|timeout)$/,
            'an override is env.NAME, env.*, resources.cpu|memory|pids|outDisk|tmpDisk|logSize or timeout',
          ),
      )
      .max(100)
      .default([]),
    /** Keep the image's tag instead of pinning the digest it has at registration. */
    keepTag: z.boolean().default(false),
  })
  .strict();

export interface StoredTemplate extends z.output<typeof TemplateDefinition> {
  /** The image as written at registration (a tag), when spec.image was pinned to its digest. */
  registeredImage?: string;
  registeredAt: string;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** "name" or "name@version". */
export function parseTemplateRef(ref: string): { name: string; version?: string } | undefined {
  const [name, version, more] = ref.split('@');
  if (more !== undefined || !TEMPLATE_NAME.test(name ?? '')) return undefined;
  if (version !== undefined && !TEMPLATE_VERSION.test(version)) return undefined;
  return { name: name!, version };
}

/** Checks a definition whole: its fields, its spec (as every action's), its schemas. */
export function checkDefinition(input: unknown): z.output<typeof TemplateDefinition> {
  const parsed = TemplateDefinition.safeParse(input);
  if (!parsed.success) throw new InvalidSpecError(specProblems(parsed.error));
  const def = parsed.data;
  const problems: SpecProblem[] = [];
  for (const field of RUN_FIELDS) {
    if (Object.hasOwn(def.spec, field))
      problems.push({
        path: `spec.${field}`,
        message: `${field} belongs to each run, not to the template${field === 'outputSchema' ? ' (put it at the top level)' : ''}`,
      });
  }
  const spec = checkActionSpec({ ...def.spec, ...(def.outputSchema !== undefined ? { output: 'json' } : {}) });
  if (!spec.success) problems.push(...specProblems(spec.error).map((p) => ({ ...p, path: `spec.${p.path}` })));
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    const why = def[key] === undefined ? undefined : schemaProblem(def[key]);
    if (why) problems.push({ path: key, message: `not a usable JSON Schema: ${why}` });
  }
  if (problems.length) throw new InvalidSpecError(problems);
  return def;
}

/** Orders versions as people read them: "1.10.0" after "1.9.0". */
const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export class TemplateStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix = 'templates',
  ) {}

  private key(name: string, version: string): string {
    return `${this.prefix}/${name}/${version}.json`;
  }

  /**
   * Stores a checked definition as a new version. Registering the same definition again is a no-op
   * (it returns what is stored); a different one under a taken version is refused.
   */
  async register(
    def: z.output<typeof TemplateDefinition>,
    pin: (image: string) => Promise<string>,
  ): Promise<StoredTemplate> {
    const image = String(def.spec.image);
    const pinned = def.keepTag ? image : await pin(image);
    const stored: StoredTemplate = {
      ...def,
      spec: { ...def.spec, image: pinned },
      ...(pinned !== image ? { registeredImage: image } : {}),
      registeredAt: new Date().toISOString(),
    };
    try {
      // Only if no object is there yet: two registrations of one version cannot both win.
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(def.name, def.version),
          Body: JSON.stringify(stored, null, 2),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return stored;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 412 && (err as { name?: string }).name !== 'PreconditionFailed') throw err;
    }
    const existing = await this.get(def.name, def.version);
    const same = (t: StoredTemplate) => JSON.stringify({ ...t, registeredAt: '' });
    // A tag that moved since means another definition: the pinned image is part of what a version is.
    if (same(existing) !== same({ ...stored, registeredAt: '' })) {
      throw new TemplateError(
        `${def.name}@${def.version} is registered already with another definition; versions never change: register a new version`,
      );
    }
    return existing;
  }

  async versions(name: string): Promise<string[]> {
    const versions: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}/${name}/`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const version = o.Key!.slice(`${this.prefix}/${name}/`.length).replace(/\.json$/, '');
        if (TEMPLATE_VERSION.test(version)) versions.push(version);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return versions.sort(byVersion);
  }

  /** A version, or the latest (highest) one when none is named. */
  async get(name: string, version?: string): Promise<StoredTemplate> {
    const chosen = version ?? (await this.versions(name)).at(-1);
    if (!chosen) throw new TemplateError(`no template named ${name}: caisson template list shows those registered`);
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name, chosen) }));
      return JSON.parse(await response.Body!.transformToString('utf8')) as StoredTemplate;
    } catch (err) {
      if (isMissingObject(err))
        throw new TemplateError(`${name} has no version ${chosen}: caisson template show ${name} lists its versions`);
      throw err;
    }
  }

  /** Every template: its versions, and the latest one's description. */
  async list(): Promise<{ name: string; versions: string[]; latest: string; description?: string }[]> {
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.prefix}/`,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      );
      for (const p of page.CommonPrefixes ?? []) names.add(p.Prefix!.slice(this.prefix.length + 1, -1));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const rows = [];
    for (const name of [...names].sort()) {
      const versions = await this.versions(name);
      if (!versions.length) continue;
      const latest = versions.at(-1)!;
      rows.push({ name, versions, latest, description: (await this.get(name, latest)).description });
    }
    return rows;
  }
}

/** What a run of a template adds: its input, its data (inputs), and --set values for fields the template lets runs change. */
export interface TemplateRun {
  input?: unknown;
  set?: Record<string, string>;
  /** Data staged into /in for this run, after the template's own inputs. */
  inputs?: ActionSpecInput['inputs'];
}

/**
 * The spec of one run of a template, or every problem at once: input against inputSchema (each at
 * its JSON pointer, as "input/…"), and --set keys the template does not allow.
 */
export function specFromTemplate(template: StoredTemplate, run: TemplateRun): ActionSpecInput {
  const problems: SpecProblem[] = [];
  if (template.inputSchema !== undefined) {
    for (const p of schemaProblems(template.inputSchema, run.input ?? null))
      problems.push({ path: `input${p.pointer}`, message: p.message });
  }
  const spec = structuredClone(template.spec) as Record<string, unknown> & {
    env?: Record<string, string>;
    resources?: Record<string, unknown>;
  };
  for (const [key, value] of Object.entries(run.set ?? {})) {
    const allowed =
      template.overrides.includes(key) || (key.startsWith('env.') && template.overrides.includes('env.*'));
    if (!allowed) {
      problems.push({
        path: key,
        message: `${template.name}@${template.version} does not let runs set ${key} (it allows: ${template.overrides.join(', ') || 'nothing'})`,
      });
      continue;
    }
    const [field, name] = key.split('.', 2) as [string, string | undefined];
    if (field === 'env') spec.env = { ...spec.env, [name!]: value };
    else if (field === 'resources')
      spec.resources = { ...spec.resources, [name!]: /^\d+$/.test(value) && name === 'pids' ? Number(value) : value };
    else spec[field] = value;
  }
  if (problems.length) throw new InvalidSpecError(problems);
  if (run.inputs?.length) spec.inputs = [...((spec.inputs as unknown[] | undefined) ?? []), ...run.inputs];
  return {
    ...(spec as ActionSpecInput),
    ...(run.input !== undefined ? { input: run.input } : {}),
    template: `${template.name}@${template.version}`,
    ...(template.outputSchema !== undefined
      ? { output: 'json' as const, outputSchema: template.outputSchema as Record<string, unknown> }
      : {}),
  };
}

/**
 * The fleet's templates: in CAISSON_TEMPLATES ("s3://bucket/prefix"), else under "templates/" in
 * CAISSON_ARTIFACTS_BUCKET. `s3` needs read access (write access to register).
 */
export function templateStore(s3: S3Client | undefined, env: NodeJS.ProcessEnv = process.env): TemplateStore {
  if (!s3)
    throw new TemplateError(
      'templates are kept in S3: set AWS_ENDPOINT_URL_S3 (for a self-hosted S3), AWS_REGION and credentials',
    );
  const where = /^s3:\/\/([^/]+)\/?(.*)$/.exec(env.CAISSON_TEMPLATES ?? '');
  if (where) return new TemplateStore(s3, where[1]!, where[2]!.replace(/\/+$/, '') || 'templates');
  if (!env.CAISSON_ARTIFACTS_BUCKET)
    throw new TemplateError(
      'say where templates are kept: CAISSON_TEMPLATES=s3://bucket/prefix, or CAISSON_ARTIFACTS_BUCKET',
    );
  return new TemplateStore(s3, env.CAISSON_ARTIFACTS_BUCKET);
}

/** Checks a definition (every problem at once), pins its image's tag to a digest, and stores it as a new version. */
export async function registerTemplate(
  store: TemplateStore,
  definition: unknown,
  dockerConfigDir?: string,
): Promise<StoredTemplate> {
  return store.register(checkDefinition(definition), async (image) => (await pinImage(image, dockerConfigDir)).image);
}

/** A template by "name" (its latest version) or "name@version". */
export async function findTemplate(store: TemplateStore, ref: string): Promise<StoredTemplate> {
  const parsed = parseTemplateRef(ref);
  if (!parsed)
    throw new InvalidSpecError([
      { path: 'template', message: 'a template is "name" or "name@version" (lower-case letters, digits and "-")' },
    ]);
  return store.get(parsed.name, parsed.version);
}
