// The bodies interLink sends to a plugin, read leniently in their two spellings: interLink's
// published plugin spec writes fields in snake_case (pod_uid, volume_mounts), while its Go API
// server sends Kubernetes JSON (volumeMounts) and its own structs (PodUID, Opts.Bytes). Like Go's
// decoder, a field is matched without regard to case or underscores; maps (labels, data, resource
// limits) are taken as they are.
import { z } from 'zod';

const squash = (key: string) => key.replace(/_/g, '').toLowerCase();

/**
 * An object whose field names are matched loosely. `aliases` names other spellings of a field
 * (the Go server's Opts.Bytes is the spec's limit_bytes). Where two spellings are both sent, the
 * first that is not null is kept.
 */
function apiObject<S extends z.ZodRawShape>(shape: S, aliases: Record<string, keyof S & string> = {}) {
  const names = new Map<string, string>(Object.keys(shape).map((k) => [squash(k), k]));
  for (const [alias, target] of Object.entries(aliases)) names.set(squash(alias), target);
  return z.preprocess((value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const name = names.get(squash(key)) ?? key;
      if (out[name] === undefined || out[name] === null) out[name] = v;
    }
    return out;
  }, z.object(shape));
}

const StringMap = z.record(z.string(), z.string());

export const Metadata = apiObject({
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  uid: z.string().nullish(),
  labels: StringMap.nullish(),
  annotations: StringMap.nullish(),
});

const EnvVar = apiObject({ name: z.string(), value: z.string().nullish(), value_from: z.unknown().nullish() });

const VolumeMount = apiObject({
  name: z.string(),
  mount_path: z.string(),
  sub_path: z.string().nullish(),
  read_only: z.boolean().nullish(),
});

export const Container = apiObject({
  name: z.string(),
  image: z.string(),
  /** Only in interLink's spec: the tag, when image has none (default "latest"). */
  tag: z.string().nullish(),
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  env: z.array(EnvVar).nullish(),
  resources: z.record(z.string(), z.unknown()).nullish(),
  volume_mounts: z.array(VolumeMount).nullish(),
  working_dir: z.string().nullish(),
});
export type Container = z.infer<typeof Container>;

const KeyToPath = apiObject({ key: z.string().nullish(), path: z.string(), mode: z.number().int().nullish() });

const PodVolume = apiObject({
  name: z.string(),
  config_map: apiObject({ name: z.string().nullish(), items: z.array(KeyToPath).nullish(), default_mode: z.number().int().nullish() }).nullish(),
  secret: z.unknown().nullish(),
  empty_dir: z.unknown().nullish(),
  projected: z.unknown().nullish(),
});
export type PodVolume = z.infer<typeof PodVolume>;

const PodSpec = apiObject({
  containers: z.array(Container).min(1, 'a pod has at least one container'),
  init_containers: z.array(Container).nullish(),
  volumes: z.array(PodVolume).nullish(),
  active_deadline_seconds: z.number().int().nullish(),
});

/** A pod: Kubernetes' v1.Pod as the Go server sends it, or the spec's PodRequest. */
export const PodRequest = apiObject({ metadata: Metadata, spec: PodSpec });
export type PodRequest = z.infer<typeof PodRequest>;

const ConfigMap = apiObject({ metadata: Metadata, data: StringMap.nullish() });

/** What interLink sends along with a pod for each container: the data of the volumes it mounts. */
const ContainerVolumes = apiObject({
  name: z.string(),
  config_maps: z.array(ConfigMap).nullish(),
  secrets: z.array(z.unknown()).nullish(),
  empty_dirs: z.array(z.unknown()).nullish(),
});
export type ContainerVolumes = z.infer<typeof ContainerVolumes>;

/** POST /create: the pod and its containers' volume data. */
export const CreateRequest = apiObject({ pod: PodRequest, container: z.array(ContainerVolumes) });
export type CreateRequest = z.infer<typeof CreateRequest>;

/** GET /status: the pods to report on. */
export const StatusRequest = z.array(PodRequest);

const LogOpts = apiObject(
  {
    tail: z.number().int().nullish(),
    limit_bytes: z.number().int().nullish(),
    timestamps: z.boolean().nullish(),
    previous: z.boolean().nullish(),
    follow: z.boolean().nullish(),
    since_seconds: z.number().int().nullish(),
    since_time: z.string().nullish(),
  },
  { bytes: 'limit_bytes' },
);

/** GET /getLogs. */
export const LogRequest = apiObject({
  namespace: z.string(),
  pod_uid: z.string(),
  pod_name: z.string(),
  container_name: z.string(),
  opts: LogOpts,
});
export type LogRequest = z.infer<typeof LogRequest>;

/** One problem of a request, as interLink's spec has it (FastAPI's shape): where, what, which kind. */
export interface ValidationProblem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class RequestProblems extends Error {
  constructor(readonly problems: ValidationProblem[]) {
    super(problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('; '));
    this.name = 'RequestProblems';
  }
}

/** The body parsed, or RequestProblems naming every field that is wrong. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new RequestProblems(
    parsed.error.issues.map((issue) => ({ loc: ['body', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))], msg: issue.message, type: issue.code })),
  );
}
