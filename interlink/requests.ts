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
const AnyObject = z.record(z.string(), z.unknown());
// Fields the plugin does not use are still checked for their type, as interLink's spec gives it:
// a request that breaks the spec is refused whole rather than half read.
const str = z.string().nullish();
const int = z.number().int().nullish();
const bool = z.boolean().nullish();

const Metadata = apiObject({
  name: str,
  namespace: str,
  uid: str,
  labels: StringMap.nullish(),
  annotations: StringMap.nullish(),
  generate_name: str,
});

const KeySelector = apiObject({ key: z.string(), name: str, optional: bool });
const EnvVarSource = apiObject({ config_map_key_ref: KeySelector.nullish(), secret_key_ref: KeySelector.nullish() });
const EnvVar = apiObject({ name: z.string(), value: str, value_from: EnvVarSource.nullish() });

const VolumeMount = apiObject({
  name: z.string(),
  mount_path: z.string(),
  sub_path: str,
  read_only: bool,
  mount_propagation: str,
});

const SecurityContext = apiObject({
  allow_privilege_escalation: bool,
  privileged: bool,
  proc_mount: str,
  read_only_file_system: bool,
  run_as_group: int,
  run_as_non_root: bool,
  run_as_user: int,
});

export const Container = apiObject({
  name: z.string(),
  image: z.string(),
  /** Only in interLink's spec: the tag, when image has none (default "latest"). */
  tag: str,
  /** Required by interLink's spec, left out by its server (Kubernetes JSON) when the image's entrypoint is used. */
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  env: z.array(EnvVar).nullish(),
  resources: AnyObject.nullish(),
  volume_mounts: z.array(VolumeMount).nullish(),
  security_context: SecurityContext.nullish(),
  working_dir: str,
  image_pull_policy: str,
  /** Refused when any are given: nothing of an action is published on its host. */
  ports: z.array(AnyObject).nullish(),
});
export type Container = z.infer<typeof Container>;

const KeyToPath = apiObject({ key: str, path: z.string(), mode: int });
const ItemsSource = { items: z.array(KeyToPath).nullish(), optional: bool, default_mode: int };

const PodVolume = apiObject({
  name: z.string(),
  config_map: apiObject({ name: z.string(), ...ItemsSource }).nullish(),
  secret: apiObject({ secret_name: z.string(), ...ItemsSource }).nullish(),
  empty_dir: AnyObject.nullish(),
  projected: AnyObject.nullish(),
  host_path: AnyObject.nullish(),
});
export type PodVolume = z.infer<typeof PodVolume>;

const PodSpec = apiObject({
  containers: z.array(Container),
  init_containers: z.array(Container).nullish(),
  volumes: z.array(PodVolume).nullish(),
  preemption_policy: str,
  priority_class_name: str,
  priority: int,
  restart_policy: str,
  termination_grace_period_seconds: int,
  active_deadline_seconds: int,
});

/** A pod: Kubernetes' v1.Pod as the Go server sends it, or the spec's PodRequest. */
export const PodRequest = apiObject({ metadata: Metadata, spec: PodSpec });
export type PodRequest = z.infer<typeof PodRequest>;

const DataObject = { metadata: Metadata, data: AnyObject.nullish(), type: str, immutable: bool };
const ConfigMap = apiObject({ ...DataObject, binary_data: AnyObject.nullish() });
const Secret = apiObject({ ...DataObject, string_data: AnyObject.nullish() });

/** What interLink sends along with a pod for each container: the data of the volumes it mounts. */
const ContainerVolumes = apiObject({
  name: z.string(),
  config_maps: z.array(ConfigMap).nullish(),
  secrets: z.array(Secret).nullish(),
  empty_dirs: z.array(z.string()).nullish(),
});
export type ContainerVolumes = z.infer<typeof ContainerVolumes>;

/** POST /create: the pod and its containers' volume data. */
export const CreateRequest = apiObject({ pod: PodRequest, container: z.array(ContainerVolumes) });
export type CreateRequest = z.infer<typeof CreateRequest>;

/** GET /status: the pods to report on. */
export const StatusRequest = z.array(PodRequest);

const LogOpts = apiObject(
  {
    tail: int,
    limit_bytes: int,
    timestamps: bool,
    previous: bool,
    follow: bool,
    since_seconds: int,
    since_time: str,
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
    parsed.error.issues.map((issue) => ({
      loc: ['body', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
      msg: issue.message,
      type: issue.code,
    })),
  );
}
