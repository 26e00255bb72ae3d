// What a worker lets actions do, whoever starts them: the host decides, never the spec. An action
// the policy refuses ends at once with reason "policy", before its image is pulled or any container
// exists; one that leaves a limit out gets the policy's default.
import { ApplicationFailure } from '@temporalio/activity';
import { parseS3Uri, type Action } from '../../spec/action.js';
import { uncovered } from '../../spec/egress.js';
import { imageAllowed, parseImageRef } from '../../spec/image.js';
import { formatBytes, formatDuration } from '../../spec/quantity.js';
import { DEFAULT_LOG_SIZE } from '../container/run-container.js';
import type { SecretGrant } from './secret-grants.js';
import { FailureType } from '../../spec/failures.js';
import { GANG_ENV } from '../gang/replica-env.js';

interface Limits {
  memory?: number;
  cpu?: number;
  pids?: number;
  outDisk?: number;
  tmpDisk?: number;
  logSize?: number;
}

export interface Policy {
  /** Given to an action that names none. */
  defaults: Limits;
  /** The most an action may ask; `gpus` 0 means none, `timeout` in ms. */
  ceilings: Limits & { gpus?: number; timeout?: number };
  /** Image patterns (as CAISSON_ALLOWED_IMAGES) that may ask for `network: host`; empty: none. */
  hostNetwork: string[];
  /**
   * Who may ask for `network: egress` (image patterns), and the host names (and "*.domain"
   * wildcards) the egress proxy lets them reach; a spec may narrow the names, never widen them.
   * Absent: no egress at all.
   */
  egress?: { images: string[]; allow: string[] };
  /**
   * Who may ask for `network: gang` (image patterns): replicas of a gang reach each other, on this
   * host directly and across hosts through ports this host publishes. Absent: no gang network.
   */
  gang?: { images: string[] };
  /** Buckets a spec may name (artifacts, inputs, each whole) besides the worker's own; "*" any. */
  buckets: string[];
  /**
   * Where inputs may also be read from, as S3 URI prefixes ("s3://bucket/datasets/"): in the
   * worker's own bucket an input reads only under the worker's artifacts root unless listed here.
   */
  reads?: string[];
  /** Each secret the worker holds, with the runs it may be given to (secret-grants.ts); unlisted: to none. */
  secrets: Record<string, SecretGrant[]>;
  /** Env names (and prefixes, ending in "*") only the worker sets: they grant access or identity. */
  reservedEnv: string[];
  /** Containers run as a numeric uid other than 0, named in the spec's `user` (the image's own user is not trusted). */
  runAsNonRoot?: boolean;
  /** The `user` values an action may name ("1000", "1000:1000", "*" any); empty or absent: any. */
  users?: string[];
  /**
   * Containers' own filesystems are read-only: only /out, /tmp_disk and a /tmp tmpfs (its bytes
   * count as the container's memory, up to resources.memory) can be written.
   */
  readOnlyRootfs?: boolean;
}

/** Names the worker sets itself (ACTION_*) or that select devices behind the engine's back (GPUs). */
export const RESERVED_ENV_PATTERNS = [
  'ACTION_*',
  'NVIDIA_*',
  'CUDA_VISIBLE_DEVICES',
  'GPU_DEVICE_ORDINAL',
  'HIP_VISIBLE_DEVICES',
  'ROCR_VISIBLE_DEVICES',
];

/** Without a policy file: bounded defaults, nothing beyond what a single-team host needs. */
export const DEFAULT_POLICY: Policy = {
  defaults: { memory: 2 * 2 ** 30, pids: 4096, logSize: DEFAULT_LOG_SIZE },
  ceilings: {},
  hostNetwork: [],
  buckets: [],
  secrets: {},
  reservedEnv: RESERVED_ENV_PATTERNS,
};

const reserved = (name: string, patterns: readonly string[]) =>
  patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));

/** The resources and time limit beyond the policy's ceilings: checked first, already at placement. */
export function ceilingProblems(r: Action['resources'], timeout: number | undefined, policy: Policy): string[] {
  const problems: string[] = [];
  const c = policy.ceilings;
  const over = (field: string, value: number | undefined, ceiling: number | undefined, show: (n: number) => string) => {
    if (value !== undefined && ceiling !== undefined && value > ceiling)
      problems.push(`${field}: ${show(value)} is above this fleet's ceiling of ${show(ceiling)}`);
  };
  over('resources.cpu', r.cpu, c.cpu, (n) => `${n} cores`);
  over('resources.memory', r.memory, c.memory, formatBytes);
  over('resources.pids', r.pids, c.pids, String);
  over('resources.outDisk', r.outDisk, c.outDisk, formatBytes);
  over('resources.tmpDisk', r.tmpDisk, c.tmpDisk, formatBytes);
  over('resources.logSize', r.logSize, c.logSize, formatBytes);
  over('timeout', timeout, c.timeout, formatDuration);
  if (r.gpus !== undefined && c.gpus !== undefined) {
    const asked = r.gpus === 'all' ? Infinity : Array.isArray(r.gpus) ? r.gpus.length : r.gpus;
    if (asked > c.gpus)
      problems.push(
        `resources.gpus: ${r.gpus === 'all' ? '"all"' : asked} is above this fleet's ceiling of ${c.gpus} GPUs`,
      );
  }
  return problems;
}

/** The worker's own bucket, and those the policy names ("*": any). */
export const bucketAllowed = (bucket: string, policy: Policy, workerBucket: string) =>
  bucket === workerBucket || policy.buckets.includes('*') || policy.buckets.includes(bucket);

/**
 * Whether an input may read `key` of `bucket`: in another bucket, when `buckets` lists it (or "*");
 * in the worker's own, under its artifacts root (every action's folder, for fromAction) or a
 * prefix `reads` lists. Not everything the worker's credentials could read.
 */
export function readAllowed(
  bucket: string,
  key: string,
  policy: Policy,
  workerBucket: string,
  workerRoot: string,
): boolean {
  if (key.split('/').some((part) => part === '.' || part === '..')) return false;
  if (policy.buckets.includes('*')) return true;
  if (bucket !== workerBucket && policy.buckets.includes(bucket)) return true;
  const root = workerRoot.replace(/^\/+|\/+$/g, '');
  if (bucket === workerBucket && (root === '' || key.startsWith(`${root}/`))) return true;
  return (policy.reads ?? []).some((prefix) => {
    const granted = parseS3Uri(prefix.endsWith('/') || !prefix.slice(5).includes('/') ? prefix : `${prefix}/`);
    if (!granted || granted.bucket !== bucket) return false;
    const under = granted.key.replace(/^\/+/, '');
    return under === '' || key.startsWith(under.endsWith('/') ? under : `${under}/`);
  });
}

/** Every way the spec goes beyond the policy, as "field: what and why", in field order. */
export function policyProblems(spec: Action, policy: Policy, workerBucket: string, workerRoot = ''): string[] {
  const problems = ceilingProblems(spec.resources, spec.timeout, policy);
  const ref = parseImageRef(spec.image);
  if (spec.network === 'host' && !(ref && imageAllowed(ref, policy.hostNetwork))) {
    problems.push(
      `network: "host" is not allowed for ${spec.image} on this fleet (it would reach the host's own services); use "none"`,
    );
  }
  problems.push(...egressProblems(spec, policy), ...gangNetworkProblems(spec, policy));
  const bucket = spec.artifacts.bucket;
  if (bucket && !bucketAllowed(bucket, policy, workerBucket)) {
    problems.push(
      `artifacts.bucket: "${bucket}" is not one this fleet writes to (allowed: ${[workerBucket, ...policy.buckets].join(', ')})`,
    );
  }
  for (const name of Object.keys(spec.env ?? {})) {
    if (reserved(name, policy.reservedEnv))
      problems.push(
        `env.${name}: reserved (${policy.reservedEnv.join(', ')}); the worker sets these, and GPUs come only through resources.gpus`,
      );
    // A gang's replicas are told their rank and peers by the host: a spec's own value would mislead them.
    else if (spec.gang && (GANG_ENV as readonly string[]).includes(name))
      problems.push(`env.${name}: reserved in a gang (${GANG_ENV.join(', ')}); the worker tells each replica these`);
  }
  // The quick part of the grants (secret-grants.ts checks the rest, the digest after the pull):
  // some grant names this image's repository, or the template the spec says it runs.
  const repo = ref ? `${ref.registry}/${ref.repository}` : undefined;
  const mayHave = (name: string) =>
    (Object.hasOwn(policy.secrets, name) ? policy.secrets[name]! : []).some((grant) => {
      if ('template' in grant) return spec.template === grant.template;
      const granted = parseImageRef(grant.image);
      return granted !== undefined && `${granted.registry}/${granted.repository}` === repo;
    });
  spec.secrets.forEach((name, i) => {
    if (!mayHave(name)) problems.push(`secrets.${i}: ${name} may not be given to ${spec.image} on this fleet`);
  });
  spec.files.forEach((file, i) => {
    const name = file.contentFromSecret;
    if (name && !mayHave(name))
      problems.push(`files.${i}.contentFromSecret: ${name} may not be given to ${spec.image} on this fleet`);
  });
  problems.push(...userProblems(spec.user, policy));
  spec.inputs.forEach((input, i) => {
    const from = input.from ? parseS3Uri(input.from) : undefined;
    if (from && !readAllowed(from.bucket, from.key, policy, workerBucket, workerRoot)) {
      const root = workerRoot.replace(/^\/+|\/+$/g, '');
      const grants = [
        `s3://${workerBucket}/${root ? `${root}/` : ''}`,
        ...policy.buckets.map((b) => `s3://${b}/`),
        ...(policy.reads ?? []),
      ];
      problems.push(
        `inputs.${i}.from: ${input.from} is not where this fleet reads inputs (allowed: ${grants.join(', ')}); ask for a grant in the policy's reads`,
      );
    }
  });
  return problems;
}

/** `network: egress` needs the policy's grant for the image; `egress.allow` only narrows its names. */
function egressProblems(spec: Action, policy: Policy): string[] {
  if (spec.network !== 'egress') return [];
  const ref = parseImageRef(spec.image);
  const grant = policy.egress;
  if (!grant || !(ref && imageAllowed(ref, grant.images)))
    return [
      `network: "egress" is not allowed for ${spec.image} on this fleet (its policy grants egress to ${grant?.images.length ? grant.images.join(', ') : 'no image'}); use "none"`,
    ];
  const wider = uncovered(spec.egress?.allow ?? [], grant.allow);
  return wider.length
    ? [
        `egress.allow: ${wider.join(', ')} beyond what this fleet allows (${grant.allow.join(', ')}); a spec may only narrow the list`,
      ]
    : [];
}

/** `network: gang` needs the policy's grant for the image, as the host network does. */
export function gangNetworkProblems(spec: Action, policy: Policy): string[] {
  if (spec.network !== 'gang') return [];
  const ref = parseImageRef(spec.image);
  const images = policy.gang?.images ?? [];
  if (ref && imageAllowed(ref, images)) return [];
  return [
    `network: "gang" is not allowed for ${spec.image} on this fleet (its policy grants the gang network to ${images.length ? images.join(', ') : 'no image'}); use "none"`,
  ];
}

/**
 * Who the container runs as. Under runAsNonRoot only a numeric uid is accepted: a name, or no user
 * at all (the image's own), could be root inside the image, which the host cannot tell beforehand.
 */
function userProblems(user: string | undefined, policy: Policy): string[] {
  const problems: string[] = [];
  if (policy.runAsNonRoot) {
    const uid = user?.split(':')[0];
    if (uid === undefined)
      problems.push(
        'user: this fleet runs containers as non-root: set user to a numeric uid other than 0 (e.g. "1000" or "1000:1000")',
      );
    else if (!/^\d+$/.test(uid))
      problems.push(
        `user: "${user}" is a name; this fleet runs containers as non-root and needs a numeric uid other than 0`,
      );
    else if (Number(uid) === 0) problems.push('user: uid 0 is root; this fleet runs containers as non-root');
  }
  const allowed = policy.users ?? [];
  if (user !== undefined && allowed.length && !allowed.includes('*') && !allowed.includes(user)) {
    problems.push(`user: "${user}" is not one this fleet allows (${allowed.join(', ')})`);
  }
  return problems;
}

/** Refuses the action (reason "policy") when it goes beyond the policy; else its spec with the defaults filled in. */
export function policyRefusal(problems: string[], host: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.PolicyRefused,
    nonRetryable: true,
    message: `refused by the policy of host ${host}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  });
}

/**
 * The spec with every limit the kernel enforces set: the action's own, else the policy's default,
 * else the built-in one (all of the host's cores, 2 GiB, 4096 pids). Nothing is left for the engine
 * to read as "unlimited": that is a decision of the policy, written as a number.
 */
export function enforcePolicy(
  spec: Action,
  policy: Policy,
  store: { bucket: string; root: string },
  host: string,
  hostCores: number,
): Action {
  const problems = policyProblems(spec, policy, store.bucket, store.root);
  if (problems.length) throw policyRefusal(problems, host);
  const d = policy.defaults;
  const builtIn = DEFAULT_POLICY.defaults;
  const r = spec.resources;
  // A positive number or nothing: the schemas refuse 0, and so does this, whoever built the spec.
  const set = (n: number | undefined) => (n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined);
  return {
    ...spec,
    resources: {
      ...r,
      cpu: set(r.cpu) ?? d.cpu ?? hostCores,
      memory: set(r.memory) ?? d.memory ?? builtIn.memory,
      pids: set(r.pids) ?? d.pids ?? builtIn.pids,
      outDisk: r.outDisk ?? d.outDisk,
      tmpDisk: r.tmpDisk ?? d.tmpDisk,
      logSize: r.logSize ?? d.logSize,
    },
  };
}
