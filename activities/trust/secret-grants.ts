// Which runs a secret may be given to. An image name says nothing about what runs: whoever may
// start the granted image could run `printenv DEPLOY_KEY > /out/k` with it. So a grant binds the
// code that receives the secret:
//   - an image digest with its whole argv (command + args), and the env names and file paths a
//     run may set besides (a file can replace a program, LD_PRELOAD or PATH can change what runs);
//   - or a template version: its pinned digest, argv, working dir, files and env, where runs may
//     change only what the template's overrides allow.
// A spec is checked twice: at policy time for the parts it states (a quick, early refusal), and
// after the pull against the digest the host really has.
import { isDeepStrictEqual } from 'node:util';
import { checkActionSpec, secretsOf, type Action } from '../../spec/action.js';
import { parseImageRef } from '../../spec/image.js';
import { TemplateError, type StoredTemplate } from '../../common/templates/templates.js';

interface ImageGrant {
  /** "registry/repository@sha256:…": the digest is part of the grant. */
  image: string;
  /** The whole argv (the spec's command followed by its args); absent: the image's own command, no args. */
  command?: string[];
  /** Env names a run may set (with any value); any other name is refused. */
  env?: string[];
  /** Paths a run may write with `files` content; files from a granted secret may go anywhere. */
  files?: string[];
  workingDir?: string;
}

interface TemplateGrant {
  /** "name@version": versions never change, and their image is pinned at registration. */
  template: string;
}

export type SecretGrant = ImageGrant | TemplateGrant;

const argv = (spec: Pick<Action, 'command' | 'args'>) => [...(spec.command ?? []), ...(spec.args ?? [])];
const repoOf = (image: string) => {
  const ref = parseImageRef(image);
  return ref ? `${ref.registry}/${ref.repository}` : undefined;
};

/** Why an image grant does not cover this run; undefined when it does. `digest` undefined: not known yet. */
function imageGrantMiss(grant: ImageGrant, spec: Action, digest: string | undefined): string | undefined {
  if (repoOf(grant.image) !== repoOf(spec.image)) return `granted to ${grant.image}`;
  const granted = parseImageRef(grant.image)?.digest;
  if (digest !== undefined && digest !== granted) return `granted to digest ${granted}, and ${spec.image} is ${digest}`;
  if (!isDeepStrictEqual(argv(spec), grant.command ?? []))
    return `granted to the command ${JSON.stringify(grant.command ?? [])} only`;
  const extraEnv = Object.keys(spec.env ?? {}).filter((name) => !(grant.env ?? []).includes(name));
  if (extraEnv.length) return `the grant lets runs set no env ${extraEnv.join(', ')}`;
  const extraFiles = spec.files
    .filter((f) => f.contentFromSecret === undefined && !(grant.files ?? []).includes(f.path))
    .map((f) => f.path);
  if (extraFiles.length) return `the grant lets runs write no file ${extraFiles.join(', ')}`;
  if (spec.workingDir !== grant.workingDir) return `granted with workingDir ${grant.workingDir ?? 'of the image'} only`;
  return undefined;
}

/** Why a template grant does not cover this run, comparing it with the stored version. */
function templateGrantMiss(template: StoredTemplate, spec: Action, digest: string | undefined): string | undefined {
  const parsed = checkActionSpec(template.spec);
  if (!parsed.success) return `template ${spec.template} does not hold a valid spec`;
  const own = parsed.data;
  const name = `${template.name}@${template.version}`;
  if (repoOf(own.image) !== repoOf(spec.image)) return `${name} runs ${own.image}`;
  const pinned = parseImageRef(own.image)?.digest;
  const runDigest = digest ?? parseImageRef(spec.image)?.digest;
  if (!pinned || runDigest !== pinned)
    return `${name} runs digest ${pinned ?? '(not pinned)'}, not ${runDigest ?? spec.image}`;
  if (!isDeepStrictEqual(argv(spec), argv(own))) return `${name} runs ${JSON.stringify(argv(own))}`;
  if (spec.workingDir !== own.workingDir) return `${name} runs in ${own.workingDir ?? "the image's working dir"}`;
  if (!isDeepStrictEqual(spec.files, own.files)) return `${name} writes other files`;
  const free = (envName: string) =>
    template.overrides.includes(`env.${envName}`) || template.overrides.includes('env.*');
  const names = new Set([...Object.keys(spec.env ?? {}), ...Object.keys(own.env ?? {})]);
  const changed = [...names].filter((n) => spec.env?.[n] !== own.env?.[n] && !free(n));
  if (changed.length) return `${name} does not let runs change env ${changed.join(', ')}`;
  return undefined;
}

export interface GrantSources {
  /** A stored template version, for template grants (cached by the caller: versions never change). */
  template(ref: string): Promise<StoredTemplate>;
}

/** The places a spec names a secret: `secrets.N`, `files.N.contentFromSecret`. */
function secretFields(spec: Action): { field: string; name: string }[] {
  return [
    ...spec.secrets.map((name, i) => ({ field: `secrets.${i}`, name })),
    ...spec.files.flatMap((f, i) =>
      f.contentFromSecret ? [{ field: `files.${i}.contentFromSecret`, name: f.contentFromSecret }] : [],
    ),
  ];
}

/**
 * Every secret the spec names that no grant covers, as "field: why". Before the pull `digest` is
 * undefined and only what the spec states is checked (a digest the spec pins is checked then too).
 */
export async function grantProblems(
  spec: Action,
  grants: Record<string, readonly SecretGrant[]>,
  digest: string | undefined,
  sources?: GrantSources,
): Promise<string[]> {
  if (!secretsOf(spec).length) return [];
  const problems: string[] = [];
  const known = digest ?? parseImageRef(spec.image)?.digest;
  for (const { field, name } of secretFields(spec)) {
    const list = Object.hasOwn(grants, name) ? grants[name]! : [];
    const misses: string[] = [];
    for (const grant of list) {
      let miss: string | undefined;
      if ('template' in grant) {
        if (spec.template !== grant.template) miss = `granted to runs of template ${grant.template}`;
        else if (!sources) miss = 'templates cannot be read on this host';
        else if (known !== undefined) {
          // A version not registered (yet) covers nothing; S3 being away is retried by the caller.
          const template = await sources.template(grant.template).catch((err: unknown) => {
            if (err instanceof TemplateError) return err;
            throw err;
          });
          miss = template instanceof TemplateError ? template.message : templateGrantMiss(template, spec, known);
        }
      } else miss = imageGrantMiss(grant, spec, known);
      if (miss === undefined) {
        misses.length = 0;
        break;
      }
      misses.push(miss);
    }
    if (!list.length) problems.push(`${field}: ${name} may not be given to ${spec.image} on this fleet`);
    else if (misses.length) problems.push(`${field}: ${name} may not be given to this run (${misses.join('; ')})`);
  }
  return problems;
}
