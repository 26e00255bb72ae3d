// Several containers as one action (a pod): the spec's `containers` map beside its top-level
// image, which stays the action's first main container ("main"). What each member is, in which
// order the host runs them, and how the action's cpu and memory are shared among them. The field
// schemas come from action.ts (passed in, so that this module does not import the spec it is part of).
import { z } from 'zod';

/** The top-level image and command, as a member of the pod. */
export const MAIN_CONTAINER = 'main';
const MAX_CONTAINERS = 8;
/** A DNS label, kept short: the engine's container name holds it after the run's own name. */
const CONTAINER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** The least memory the engine gives a container (as resources.memory). */
const MIN_MEMORY = 6 * 2 ** 20;

/**
 * init: run one after the other, each to completion, before the others start; sidecar: runs beside
 * the main containers and is stopped once they have ended; main: the action lasts as long as it does.
 */
type ContainerRole = 'main' | 'sidecar' | 'init';

/** The schema of the `containers` map, built from the field schemas of the top-level spec. */
export function containersSchema<
  I extends z.ZodType<string>,
  A extends z.ZodType<string[] | undefined>,
  E extends z.ZodType<Record<string, string> | undefined>,
  W extends z.ZodType<string | undefined>,
  C extends z.ZodType<number | undefined>,
  M extends z.ZodType<number | undefined>,
>(fields: { image: I; command: A; args: A; env: E; workingDir: W; cpu: C; memory: M }) {
  const member = z
    .object({
      image: fields.image,
      command: fields.command,
      args: fields.args,
      env: fields.env,
      workingDir: fields.workingDir,
      resources: z
        .object({ cpu: fields.cpu, memory: fields.memory })
        .strict()
        .default({} as never),
      role: z.enum(['main', 'sidecar', 'init']).default('sidecar'),
    })
    .strict();
  // Names are checked here rather than by the key's schema, whose failure would not say why.
  return z
    .record(z.string(), member)
    .superRefine((map, ctx) => {
      const names = Object.keys(map);
      if (names.length > MAX_CONTAINERS)
        ctx.addIssue({ code: 'custom', message: `at most ${MAX_CONTAINERS} containers` });
      for (const name of names) {
        if (name === MAIN_CONTAINER)
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `"${MAIN_CONTAINER}" is the top-level image and command`,
          });
        else if (!CONTAINER_NAME.test(name))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message:
              'a container name is 1-32 lowercase letters, digits or "-", starting and ending with a letter or digit',
          });
      }
    })
    .meta({ propertyNames: { pattern: CONTAINER_NAME.source }, maxProperties: MAX_CONTAINERS });
}

/** One container of a pod, as the host runs it. */
export interface PodMember {
  name: string;
  role: ContainerRole;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  resources: { cpu?: number; memory?: number };
}

/** What this module reads of a spec: the action's cpu and memory, and its containers. */
export interface PodSpec {
  resources: { cpu?: number; memory?: number };
  containers?: Record<string, Omit<PodMember, 'name'>>;
}

/** Whether the spec runs several containers (a spec without `containers` runs one, as always). */
export const isPod = (spec: Pick<PodSpec, 'containers'>): boolean => spec.containers !== undefined;

/** The containers of `containers`, in the spec's order (the order init containers run in). */
export function extraMembers(spec: Pick<PodSpec, 'containers'>): PodMember[] {
  return Object.entries(spec.containers ?? {}).map(([name, member]) => ({ ...member, name }));
}

/** The containers that run beside the main one: other mains and the sidecars. */
export const alongside = (spec: Pick<PodSpec, 'containers'>): PodMember[] =>
  extraMembers(spec).filter((m) => m.role !== 'init');

/** The init containers, in the order they run. */
export const initMembers = (spec: Pick<PodSpec, 'containers'>): PodMember[] =>
  extraMembers(spec).filter((m) => m.role === 'init');

type Limit = 'cpu' | 'memory';

/**
 * What each container may use of the action's cpu and memory, by name ("main" for the top-level).
 * An init container runs alone: its own limit, else the action's. The containers running together
 * share the action's: each its own limit where it sets one, and the rest in equal parts among the
 * main one and those that set none. Without the action's limit nobody's is bounded by it.
 */
export function memberLimits(spec: PodSpec): Record<string, { cpu?: number; memory?: number }> {
  const limits: Record<string, { cpu?: number; memory?: number }> = { [MAIN_CONTAINER]: {} };
  const together = alongside(spec);
  for (const key of ['cpu', 'memory'] as Limit[]) {
    const whole = spec.resources[key];
    for (const m of initMembers(spec)) (limits[m.name] ??= {})[key] = m.resources[key] ?? whole;
    const share = restShare(spec, key);
    limits[MAIN_CONTAINER]![key] = share;
    for (const m of together) (limits[m.name] ??= {})[key] = m.resources[key] ?? share;
  }
  return limits;
}

/** The part of the action's `key` each container running together without its own gets. */
function restShare(spec: PodSpec, key: Limit): number | undefined {
  const whole = spec.resources[key];
  if (whole === undefined) return undefined;
  const together = alongside(spec);
  const own = together.reduce((sum, m) => sum + (m.resources[key] ?? 0), 0);
  const sharing = 1 + together.filter((m) => m.resources[key] === undefined).length;
  const rest = (whole - own) / sharing;
  return key === 'memory' ? Math.floor(rest) : rest;
}

/** Problems of `containers` against the rest of the spec, each with the path of its field. */
export function containerProblems(spec: PodSpec): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const m of extraMembers(spec)) {
    for (const key of ['cpu', 'memory'] as Limit[]) {
      const own = m.resources[key];
      const whole = spec.resources[key];
      if (own === undefined) continue;
      if (whole === undefined)
        problems.push({
          path: ['containers', m.name, 'resources', key],
          message: `set resources.${key} of the action too: it bounds what its containers use together`,
        });
      else if (own > whole)
        problems.push({
          path: ['containers', m.name, 'resources', key],
          message: `more than the action's resources.${key}`,
        });
    }
  }
  const least = { cpu: 0.001, memory: MIN_MEMORY };
  for (const key of ['cpu', 'memory'] as Limit[]) {
    const share = restShare(spec, key);
    if (share !== undefined && share < least[key]) {
      problems.push({
        path: ['resources', key],
        message: `the containers running together (main and the sidecars) need more than the action's ${key}: the main container would get ${key === 'memory' ? `${Math.floor(share / 2 ** 20)}Mi (at least 6Mi)` : share.toFixed(3)}`,
      });
    }
  }
  return problems;
}
