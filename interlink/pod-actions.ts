// A pod as one Caisson action whose id follows from the pod's uid, so a plugin that restarted (or
// a second one) finds every pod again without keeping anything of its own. A pod of one container
// is that container's action, `<prefix><uid>-<container>` (its id since the plugin began); a pod of
// several containers, or with init containers, is one action `<prefix><uid>` whose first container
// is the top-level one and the others the spec's `containers` (pod-members.ts).
import type { ActionSpecInput } from '../spec/action.js';
import type { FleetOptions } from '../spec/workflow-api.js';
import { parseImageRef } from '../spec/image.js';
import type {
  Container,
  ContainerVolumes,
  CreateRequest,
  PodRequest,
  PodVolume,
  ValidationProblem,
} from './requests.js';
import { RequestProblems } from './requests.js';
import { podMetadata } from './pod-metadata.js';
import { pullPolicyOf, retryOf } from './pod-policies.js';
import { envSecret, secretFiles } from './pod-secrets.js';
import { FIRST_CONTAINER_ANNOTATION, isSingle, podMembers, type Report } from './pod-members.js';

/** Kubernetes uids are UUIDs; anything else must still make a valid action id. */
const UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** The service-account token Kubernetes mounts into every pod: of no use off the cluster, so left out. */
const SERVICE_ACCOUNT_VOLUME = /^kube-api-access-/;
/** Where an emptyDir may be mounted: the action's scratch disk. */
const SCRATCH = /^\/tmp_disk(\/|$)/;

export interface PodAction {
  /** The pod's first container, whose action this is when it is alone. */
  container: string;
  actionId: string;
  spec: ActionSpecInput;
  /** terminationGracePeriodSeconds as the time between SIGTERM and SIGKILL when the pod is deleted. */
  fleet: FleetOptions;
}

export const podJobId = (prefix: string, uid: string) => `${prefix}${uid}`;
export const actionIdFor = (prefix: string, uid: string, container: string) => `${prefix}${uid}-${container}`;

/** The id of the pod's one action: its container's for a pod of one, the pod's own otherwise. */
export const podActionId = (prefix: string, uid: string, pod: PodRequest) =>
  isSingle(pod) ? actionIdFor(prefix, uid, pod.spec.containers[0]!.name) : podJobId(prefix, uid);

/** The pod's uid, checked: it names the pod's actions. */
export function podUid(pod: PodRequest, loc: (string | number)[]): string {
  const uid = pod.metadata.uid ?? '';
  if (!UID.test(uid)) {
    throw new RequestProblems([
      {
        loc: [...loc, 'metadata', 'uid'],
        msg: 'the pod needs a uid of 1-100 letters, digits, ".", "_" or "-": it names the pod\'s actions',
        type: 'value_error',
      },
    ]);
  }
  return uid;
}

/** The pod as one action, or every problem that keeps the pod from running. */
export function podAction(request: CreateRequest, prefix: string): PodAction {
  const { pod } = request;
  const uid = podUid(pod, ['body', 'pod']);
  const problems: ValidationProblem[] = [];
  const problem = (loc: (string | number)[], msg: string) =>
    problems.push({ loc: ['body', 'pod', ...loc], msg, type: 'value_error' });
  if (!pod.spec.containers.length) problem(['spec', 'containers'], 'a pod needs at least one container');
  const metadata = podMetadata(pod, problem);
  const seen = new Set<string>();
  const specs = [
    ...pod.spec.containers.map((container, index) => ({ container, at: ['spec', 'containers', index] })),
    ...(pod.spec.init_containers ?? []).map((container, index) => ({
      container,
      at: ['spec', 'init_containers', index],
    })),
  ].map(({ container, at }) => {
    if (!CONTAINER_NAME.test(container.name))
      problem([...at, 'name'], 'a container name is 1-63 letters, digits, ".", "_" or "-"');
    if (seen.has(container.name)) problem([...at, 'name'], `two containers are named "${container.name}"`);
    seen.add(container.name);
    const volumes = request.container.find((c) => c.name === container.name);
    return containerSpec(pod, container, volumes, (loc, msg) => problem([...at, ...loc], msg));
  });
  const main = specs[0] ?? { image: '' };
  const retry = retryOf(pod, problem);
  const containers = isSingle(pod) ? undefined : podMembers(pod, main, specs, problem);
  const grace = pod.spec.termination_grace_period_seconds;
  if (problems.length) throw new RequestProblems(problems);
  return {
    container: pod.spec.containers[0]!.name,
    actionId: podActionId(prefix, uid, pod),
    spec: {
      ...main,
      ...retry,
      ...metadata,
      ...(containers
        ? {
            containers,
            annotations: { ...metadata.annotations, [FIRST_CONTAINER_ANNOTATION]: pod.spec.containers[0]!.name },
          }
        : {}),
    },
    fleet: grace != null && grace >= 0 ? { stopGraceSeconds: grace } : {},
  };
}

function containerSpec(
  pod: PodRequest,
  container: Container,
  volumes: ContainerVolumes | undefined,
  report: Report,
): ActionSpecInput {
  const env: Record<string, string> = {};
  const secrets: string[] = [];
  (container.env ?? []).forEach((variable, i) => {
    const ref = variable.value_from?.secret_key_ref;
    if (variable.value == null && ref) {
      const secret = envSecret(variable.name, ref, (loc, msg) => report(['env', i, ...loc], msg));
      if (secret) secrets.push(secret);
      return;
    }
    if (variable.value_from != null && variable.value == null) {
      report(
        ['env', i, 'value_from'],
        `env ${variable.name}: valueFrom is supported for secretKeyRef only; send the value itself`,
      );
    }
    env[variable.name] = variable.value ?? '';
  });
  const namespace = pod.metadata.namespace ?? 'default';
  const spec: ActionSpecInput = {
    image: imageOf(container),
    ...(container.command?.length ? { command: container.command } : {}),
    ...(container.args?.length ? { args: container.args } : {}),
    ...(Object.keys(env).length ? { env } : {}),
    ...(secrets.length ? { secrets } : {}),
    ...(container.working_dir ? { workingDir: container.working_dir } : {}),
    ...userOf(container.security_context, report),
    ...pullPolicyOf(container, report),
    resources: resourcesOf(container.resources, report),
    source: `interLink pod ${namespace}/${pod.metadata.name ?? ''} (${pod.metadata.uid ?? ''})`.slice(0, 200),
    files: mountedFiles(pod.spec.volumes ?? [], container, volumes, report),
  };
  if (container.ports?.length)
    report(
      ['ports'],
      "ports are not supported: nothing of an action is published on its host (a pod's containers reach each other on localhost)",
    );
  if (pod.spec.active_deadline_seconds != null) {
    if (pod.spec.active_deadline_seconds > 0) spec.deadline = `${pod.spec.active_deadline_seconds}s`;
    else report(['spec', 'active_deadline_seconds'], 'activeDeadlineSeconds must be positive');
  }
  return spec;
}

/**
 * The container's securityContext: runAsUser (and runAsGroup) become the action's user; every
 * other field is honoured as the worker already runs containers (unprivileged, no privilege
 * escalation, the default /proc) or refused by name, never dropped.
 */
function userOf(context: Container['security_context'], report: Report): Pick<ActionSpecInput, 'user'> {
  if (!context) return {};
  const at = (field: string) => ['security_context', field];
  if (context.privileged)
    report(at('privileged'), 'privileged containers are not supported: every action runs unprivileged');
  if (context.allow_privilege_escalation) {
    report(
      at('allow_privilege_escalation'),
      'allowPrivilegeEscalation: true is not supported: every action runs with no-new-privileges',
    );
  }
  if (context.proc_mount != null && context.proc_mount !== 'Default')
    report(at('proc_mount'), `procMount ${context.proc_mount} is not supported (Default is)`);
  if (context.read_only_file_system)
    report(
      at('read_only_file_system'),
      'readOnlyRootFilesystem is not supported by this plugin: leave it out or false',
    );
  const uid = context.run_as_user;
  const gid = context.run_as_group;
  if (uid != null && uid < 0) report(at('run_as_user'), 'runAsUser is a uid, 0 or more');
  if (gid != null && gid < 0) report(at('run_as_group'), 'runAsGroup is a gid, 0 or more');
  if (gid != null && uid == null)
    report(at('run_as_group'), "runAsGroup needs runAsUser here: the plugin cannot read the image's user");
  if (context.run_as_non_root) {
    if (uid == null)
      report(
        at('run_as_non_root'),
        "runAsNonRoot needs runAsUser here: the plugin cannot read the image's user to check it",
      );
    else if (uid === 0) report(at('run_as_user'), 'runAsUser 0 is root, and runAsNonRoot is set');
  }
  if (uid == null || uid < 0) return {};
  return { user: gid != null && gid >= 0 ? `${uid}:${gid}` : String(uid) };
}

/** The image, with the spec's separate `tag` added when the image names none. */
function imageOf(container: Container): string {
  const ref = parseImageRef(container.image);
  if (container.tag && ref && !ref.tag && !ref.digest) return `${container.image}:${container.tag}`;
  return container.image;
}

/** Limits (requests where a limit is missing): cpu, memory and nvidia.com/gpu. */
function resourcesOf(
  resources: Record<string, unknown> | null | undefined,
  report: Report,
): NonNullable<ActionSpecInput['resources']> {
  const pick = (group: string): Record<string, unknown> => {
    const value = resources?.[group];
    if (value == null) return {};
    if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    report(
      ['resources', group],
      `resources.${group} is a map of quantities such as {"cpu": "500m", "memory": "256Mi"}`,
    );
    return {};
  };
  const limits = { ...pick('requests'), ...pick('limits') };
  const out: NonNullable<ActionSpecInput['resources']> = {};
  const quantity = (key: string): string | number | undefined => {
    const value = limits[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string' || typeof value === 'number') return value;
    report(['resources', 'limits', key], `${key} is a quantity such as "500m" or "256Mi"`);
    return undefined;
  };
  const cpu = quantity('cpu');
  const memory = quantity('memory');
  const gpus = quantity('nvidia.com/gpu');
  if (cpu !== undefined) out.cpu = cpu;
  if (memory !== undefined) out.memory = memory;
  if (gpus !== undefined) {
    const count = Number(gpus);
    if (Number.isInteger(count) && count >= 0) {
      if (count > 0) out.gpus = count;
    } else report(['resources', 'limits', 'nvidia.com/gpu'], 'nvidia.com/gpu is a whole number');
  }
  return out;
}

/** ConfigMap and secret volumes as files at their mount path; other kinds of volume are refused by name. */
function mountedFiles(
  podVolumes: PodVolume[],
  container: Container,
  volumes: ContainerVolumes | undefined,
  report: Report,
): NonNullable<ActionSpecInput['files']> {
  const files: NonNullable<ActionSpecInput['files']> = [];
  (container.volume_mounts ?? []).forEach((mount, i) => {
    const at = ['volume_mounts', i];
    const volume = podVolumes.find((v) => v.name === mount.name);
    if (!volume) return report([...at, 'name'], `no volume named "${mount.name}" in the pod`);
    if (volume.config_map) {
      const name = volume.config_map.name;
      const data = volumes?.config_maps?.find((c) => c.metadata.name === name)?.data;
      if (!data) return report([...at, 'name'], `the data of configMap "${name}" was not sent with the pod`);
      const items = volume.config_map.items?.length
        ? volume.config_map.items
        : Object.keys(data).map((key) => ({ key, path: key, mode: null }));
      for (const item of items) {
        const key = item.key ?? item.path;
        if (mount.sub_path && mount.sub_path !== item.path) continue;
        const content = data[key];
        if (typeof content !== 'string')
          return report([...at, 'name'], `configMap "${name}" has no text under key "${key}"`);
        const path = mount.sub_path ? mount.mount_path : `${mount.mount_path.replace(/\/+$/, '')}/${item.path}`;
        files.push({ path, content, mode: item.mode ?? volume.config_map.default_mode ?? 0o644 });
      }
      return;
    }
    if (volume.projected != null && SERVICE_ACCOUNT_VOLUME.test(volume.name)) return;
    if (volume.secret != null) {
      files.push(
        ...secretFiles({ ...volume, secret: volume.secret }, mount, volumes, (loc, msg) =>
          report([...at, ...loc], msg),
        ),
      );
      return;
    }
    // The action's scratch disk is /tmp_disk, shared by a pod's containers: an emptyDir is honoured there.
    if (volume.empty_dir != null) {
      if (SCRATCH.test(mount.mount_path) && !mount.mount_path.split('/').includes('..')) return;
      return report(
        [...at, 'mount_path'],
        `emptyDir "${mount.name}": mount it at /tmp_disk or under it, the scratch disk every container of the pod shares`,
      );
    }
    const kind = volume.host_path != null ? 'hostPath' : volume.projected != null ? 'projected' : 'this kind of';
    report(
      [...at, 'name'],
      `volume "${mount.name}": ${kind} volumes are not supported (configMap, secret and emptyDir volumes are); ${hint(kind)}`,
    );
  });
  return files;
}

function hint(kind: string): string {
  if (kind === 'hostPath') return "an action never sees its host's files: send the data as a configMap or an input";
  return 'send the data as a configMap';
}
