// The interLink plugin's reading of requests (both spellings: interLink's published spec and the
// Kubernetes JSON its Go server sends), its pod-to-actions mapping and its container statuses.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseActionSpec } from '../../spec/action.js';
import type { ActionsClient } from '../../client/index.js';
import { actionState } from '../../interlink/action-state.js';
import { containerStatus } from '../../interlink/container-status.js';
import { podAction } from '../../interlink/pod-actions.js';
import { CreateRequest, LogRequest, RequestProblems, StatusRequest, parseBody } from '../../interlink/requests.js';

const UID = '6f1c2a3e-9b1d-4c55-8e2a-0d3f4b5c6a7e';
const IMAGE = 'registry.example/tools/busybox:1';

/** A pod as interLink's Go server marshals v1.Pod and its RetrievedContainer list (camelCase, extra fields). */
const goCreate = {
  pod: {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: 'test-pod',
      namespace: 'team-a',
      uid: UID,
      creationTimestamp: '2026-01-01T00:00:00Z',
      annotations: { 'interlink.eu/pod-ip': '' },
    },
    spec: {
      volumes: [
        {
          name: 'kube-api-access-x7k2p',
          projected: { sources: [{ serviceAccountToken: { path: 'token' } }], defaultMode: 420 },
        },
        { name: 'settings', configMap: { name: 'app-settings', defaultMode: 0o600 } },
      ],
      containers: [
        {
          name: 'busyecho',
          image: IMAGE,
          command: ['sh', '-c'],
          args: ['sleep 2; echo FINISHED'],
          env: [{ name: 'GREETING', value: 'hi' }],
          resources: { limits: { cpu: '500m', memory: '64Mi', 'nvidia.com/gpu': '1' }, requests: { cpu: '100m' } },
          volumeMounts: [
            {
              name: 'kube-api-access-x7k2p',
              readOnly: true,
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
            },
            { name: 'settings', mountPath: '/etc/app/' },
          ],
          terminationMessagePath: '/dev/termination-log',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      activeDeadlineSeconds: 600,
    },
    status: { phase: 'Pending' },
  },
  container: [
    {
      name: 'busyecho',
      configMaps: [{ metadata: { name: 'app-settings' }, data: { 'app.conf': 'level=debug\n' } }],
      projectedvolumemaps: null,
      secrets: null,
      emptyDirs: null,
    },
  ],
};

/** The same pod written as interLink's published spec has it (snake_case, tag apart). */
const specCreate = {
  pod: {
    metadata: { name: 'test-pod', namespace: 'team-a', uid: UID },
    spec: {
      volumes: [{ name: 'settings', config_map: { name: 'app-settings', default_mode: 0o600 } }],
      containers: [
        {
          name: 'busyecho',
          image: 'registry.example/tools/busybox',
          tag: '1',
          command: ['sh', '-c'],
          args: ['sleep 2; echo FINISHED'],
          env: [{ name: 'GREETING', value: 'hi' }],
          resources: { limits: { cpu: '500m', memory: '64Mi', 'nvidia.com/gpu': '1' } },
          image_pull_policy: 'IfNotPresent',
          volume_mounts: [{ name: 'settings', mount_path: '/etc/app/' }],
        },
      ],
      termination_grace_period_seconds: 5,
      active_deadline_seconds: 600,
    },
  },
  container: [
    { name: 'busyecho', config_maps: [{ metadata: { name: 'app-settings' }, data: { 'app.conf': 'level=debug\n' } }] },
  ],
};

const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RequestProblems) return err.problems;
    throw err;
  }
  throw new Error('expected RequestProblems');
};

describe('interLink requests', () => {
  it('map a pod sent by the Go server to one action per container, with a deterministic id', () => {
    const action = podAction(parseBody(CreateRequest, goCreate), 'pod-');
    expect(action).toEqual({
      container: 'busyecho',
      actionId: `pod-${UID}-busyecho`,
      fleet: { stopGraceSeconds: 5 },
      spec: {
        image: IMAGE,
        command: ['sh', '-c'],
        args: ['sleep 2; echo FINISHED'],
        env: { GREETING: 'hi' },
        resources: { cpu: '500m', memory: '64Mi', gpus: 1 },
        source: `interLink pod team-a/test-pod (${UID})`,
        // The configMap's keys as files under the mount path; the service-account token is left out.
        files: [{ path: '/etc/app/app.conf', content: 'level=debug\n', mode: 0o600 }],
        deadline: '600s',
        pullPolicy: 'if-not-present',
      },
    });
    // A spec Caisson accepts as it is.
    expect(() => parseActionSpec(action!.spec)).not.toThrow();
  });

  it("read the spec's snake_case spelling to the same actions as the Go server's", () => {
    expect(podAction(parseBody(CreateRequest, specCreate), 'pod-')).toEqual(
      podAction(parseBody(CreateRequest, goCreate), 'pod-'),
    );
  });

  it('report every problem of a pod at its place, and start nothing', () => {
    const pod = structuredClone(specCreate) as {
      pod: { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    };
    pod.pod.spec.init_containers = [{ name: 'init', image: IMAGE, command: ['true'] }];
    pod.pod.spec.volumes = [{ name: 'creds', secret: { secret_name: 'db' } }];
    pod.pod.spec.containers = [
      {
        name: 'a',
        image: IMAGE,
        command: ['x'],
        env: [{ name: 'PASSWORD', value_from: { secret_key_ref: { name: 'db', key: 'pw' } } }],
        volume_mounts: [{ name: 'creds', mount_path: '/creds' }],
      },
      { name: 'a', image: IMAGE, command: ['x'], volume_mounts: [{ name: 'missing', mount_path: '/m' }] },
    ];
    const problems = problemsOf(() => podAction(parseBody(CreateRequest, pod), 'pod-'));
    expect(problems.map((p) => p.loc.join('.'))).toEqual([
      'body.pod.spec.containers.0.env.0.value_from',
      'body.pod.spec.containers.0.volume_mounts.0.name',
      'body.pod.spec.containers.1.name',
      'body.pod.spec.containers.1.volume_mounts.0.name',
    ]);
    expect(problems[1]!.msg).toMatch(/secret volumes are not supported/);
    expect(problems[2]!.msg).toBe('two containers are named "a"');
    expect(problems[3]!.msg).toBe('no volume named "missing" in the pod');
  });

  it('map a pod of several containers and init containers to one action with containers', () => {
    const body = structuredClone(specCreate) as { pod: { spec: Record<string, unknown> } };
    body.pod.spec.containers = [
      { name: 'app', image: IMAGE, command: ['app'], resources: { limits: { cpu: '1', memory: '128Mi' } } },
      { name: 'db', image: IMAGE, args: ['db'], env: [{ name: 'PORT', value: '5432' }] },
    ];
    body.pod.spec.init_containers = [{ name: 'setup', image: IMAGE, command: ['true'] }];
    const action = podAction(parseBody(CreateRequest, body), 'pod-');
    expect(action.actionId).toBe(`pod-${UID}`);
    expect(action.spec).toMatchObject({
      image: IMAGE,
      command: ['app'],
      annotations: { 'interlink-plugin/first-container': 'app' },
      containers: {
        db: { image: IMAGE, args: ['db'], env: { PORT: '5432' }, resources: {}, role: 'main' },
        setup: { image: IMAGE, command: ['true'], resources: {}, role: 'init' },
      },
    });
    expect(() => parseActionSpec(action.spec)).not.toThrow();
  });

  it("refuse, by name, what a pod's other container cannot carry", () => {
    const body = structuredClone(specCreate) as { pod: { spec: Record<string, unknown> } };
    body.pod.spec.containers = [
      { name: 'app', image: IMAGE },
      { name: 'Side', image: IMAGE, security_context: { run_as_user: 7 } },
      { name: 'gpu', image: IMAGE, resources: { limits: { 'nvidia.com/gpu': '1' } } },
    ];
    const problems = problemsOf(() => podAction(parseBody(CreateRequest, body), 'pod-'));
    expect(problems.map((p) => p.loc.join('.'))).toEqual([
      'body.pod.spec.containers.1.name',
      'body.pod.spec.containers.1.security_context.run_as_user',
      'body.pod.spec.containers.2.resources',
    ]);
  });

  it('map imagePullPolicy, restartPolicy and emptyDir volumes under /tmp_disk', () => {
    const body = structuredClone(specCreate) as { pod: { spec: Record<string, unknown> } };
    body.pod.spec.restart_policy = 'OnFailure';
    body.pod.spec.volumes = [{ name: 'scratch', empty_dir: {} }];
    body.pod.spec.containers = [
      {
        name: 'app',
        image: IMAGE,
        image_pull_policy: 'Never',
        volume_mounts: [{ name: 'scratch', mount_path: '/tmp_disk/s' }],
      },
    ];
    const { spec } = podAction(parseBody(CreateRequest, body), 'pod-');
    expect(spec).toMatchObject({ pullPolicy: 'never', retry: { attempts: 3, onReasons: ['oom', 'engine-restarted'] } });
    expect(spec.retry?.onExitCodes).toHaveLength(255);
    expect(spec.files).toEqual([]);
    body.pod.spec.restart_policy = 'Never';
    expect(podAction(parseBody(CreateRequest, body), 'pod-').spec.retry).toBeUndefined();
  });

  it('refuse, by name, ports, hostPath volumes, emptyDir outside /tmp_disk and unknown policies', () => {
    const body = structuredClone(specCreate) as { pod: { spec: Record<string, unknown> } };
    body.pod.spec.restart_policy = 'Sometimes';
    body.pod.spec.volumes = [
      { name: 'host', host_path: { path: '/etc' } },
      { name: 'scratch', empty_dir: {} },
    ];
    body.pod.spec.containers = [
      {
        name: 'app',
        image: IMAGE,
        image_pull_policy: 'Often',
        ports: [{ container_port: 80 }],
        volume_mounts: [
          { name: 'host', mount_path: '/host' },
          { name: 'scratch', mount_path: '/scratch' },
          { name: 'scratch', mount_path: '/tmp_disk/../etc' },
        ],
      },
    ];
    const problems = problemsOf(() => podAction(parseBody(CreateRequest, body), 'pod-'));
    expect(problems.map((p) => p.loc.join('.'))).toEqual([
      'body.pod.spec.containers.0.image_pull_policy',
      'body.pod.spec.containers.0.volume_mounts.0.name',
      'body.pod.spec.containers.0.volume_mounts.1.mount_path',
      'body.pod.spec.containers.0.volume_mounts.2.mount_path',
      'body.pod.spec.containers.0.ports',
      'body.pod.spec.restart_policy',
    ]);
    expect(problems[1]!.msg).toMatch(/hostPath volumes are not supported/);
  });

  it("map secret key references and secret volumes to the host's secrets, never their values", () => {
    const body = structuredClone(specCreate) as {
      pod: { spec: Record<string, unknown> };
      container: Record<string, unknown>[];
    };
    body.pod.spec.volumes = [{ name: 'creds', secret: { secret_name: 'db-cred' } }];
    body.container = [{ name: 'app', secrets: [{ metadata: { name: 'db-cred' }, data: { 'pw.txt': 'c2VjcmV0' } }] }];
    body.pod.spec.containers = [
      {
        name: 'app',
        image: IMAGE,
        env: [
          { name: 'db_cred_user', value_from: { secret_key_ref: { name: 'db-cred', key: 'user' } } },
          { name: 'PASSWORD', value_from: { secret_key_ref: { name: 'db-cred', key: 'pw' } } },
        ],
        volume_mounts: [{ name: 'creds', mount_path: '/creds' }],
      },
    ];
    const problems = problemsOf(() => podAction(parseBody(CreateRequest, body), 'pod-'));
    expect(problems.map((p) => [p.loc.join('.'), p.msg])).toEqual([
      ['body.pod.spec.containers.0.env.1.value_from', expect.stringMatching(/name the variable db_cred_pw$/)],
    ]);
    (body.pod.spec.containers as { env: unknown[] }[])[0]!.env.pop();
    const { spec } = podAction(parseBody(CreateRequest, body), 'pod-');
    expect(spec.secrets).toEqual(['db_cred_user']);
    expect(spec.files).toEqual([{ path: '/creds/pw.txt', contentFromSecret: 'db_cred_pw_txt', mode: 0o600 }]);
    expect(JSON.stringify(spec)).not.toContain('c2VjcmV0');
    expect(() => parseActionSpec(spec)).not.toThrow();
  });

  it("map securityContext's runAsUser and runAsGroup to the action's user", () => {
    const withContext = (security_context: Record<string, unknown>) => {
      const body = structuredClone(specCreate) as { pod: { spec: { containers: Record<string, unknown>[] } } };
      body.pod.spec.containers[0]!.security_context = security_context;
      return podAction(parseBody(CreateRequest, body), 'pod-').spec;
    };
    expect(withContext({ run_as_user: 1000, run_as_group: 2000, run_as_non_root: true }).user).toBe('1000:2000');
    expect(
      withContext({ run_as_user: 1000, privileged: false, allow_privilege_escalation: false, proc_mount: 'Default' })
        .user,
    ).toBe('1000');
    expect(withContext({}).user).toBeUndefined();
  });

  it('refuse, by name, securityContext fields the plugin cannot honour instead of dropping them', () => {
    const problemsWith = (security_context: Record<string, unknown>) => {
      const body = structuredClone(specCreate) as { pod: { spec: { containers: Record<string, unknown>[] } } };
      body.pod.spec.containers[0]!.security_context = security_context;
      return problemsOf(() => podAction(parseBody(CreateRequest, body), 'pod-')).map(
        (p) => `${p.loc.slice(-1)[0]}: ${p.msg}`,
      );
    };
    expect(problemsWith({ privileged: true })).toEqual([
      expect.stringMatching(/^privileged: privileged containers are not supported/),
    ]);
    expect(problemsWith({ allow_privilege_escalation: true })).toEqual([
      expect.stringMatching(/^allow_privilege_escalation: /),
    ]);
    expect(problemsWith({ proc_mount: 'Unmasked' })).toEqual([
      expect.stringMatching(/^proc_mount: procMount Unmasked/),
    ]);
    expect(problemsWith({ read_only_file_system: true })).toEqual([expect.stringMatching(/^read_only_file_system: /)]);
    expect(problemsWith({ run_as_non_root: true })).toEqual([
      expect.stringMatching(/^run_as_non_root: runAsNonRoot needs runAsUser/),
    ]);
    expect(problemsWith({ run_as_non_root: true, run_as_user: 0 })).toEqual([
      expect.stringMatching(/^run_as_user: runAsUser 0 is root/),
    ]);
    expect(problemsWith({ run_as_group: 5 })).toEqual([
      expect.stringMatching(/^run_as_group: runAsGroup needs runAsUser/),
    ]);
  });

  it('refuse a pod without a usable uid, since the uid names its actions', () => {
    for (const uid of [null, '', '../x', 'a'.repeat(101)]) {
      const body = { ...specCreate, pod: { ...specCreate.pod, metadata: { ...specCreate.pod.metadata, uid } } };
      expect(problemsOf(() => podAction(parseBody(CreateRequest, body), 'pod-'))[0]!.loc).toEqual([
        'body',
        'pod',
        'metadata',
        'uid',
      ]);
    }
  });

  it("check fields the plugin does not use against the spec's types too, naming them", () => {
    const body = [
      { metadata: { uid: UID }, spec: { containers: [], priority_class_name: 5, restart_policy: ['Never'] } },
    ];
    expect(problemsOf(() => parseBody(StatusRequest, body)).map((p) => p.loc.join('.'))).toEqual([
      'body.0.spec.priority_class_name',
      'body.0.spec.restart_policy',
    ]);
  });

  it("read a log request in the Go server's spelling (PodUID, Opts.Bytes) as in the spec's", () => {
    const go = {
      Namespace: 'ns',
      PodUID: UID,
      PodName: 'p',
      ContainerName: 'c',
      Opts: {
        Tail: 0,
        Bytes: 10,
        Timestamps: true,
        Follow: false,
        Previous: false,
        SinceSeconds: 0,
        SinceTime: '0001-01-01T00:00:00Z',
      },
    };
    const spec = {
      namespace: 'ns',
      pod_uid: UID,
      pod_name: 'p',
      container_name: 'c',
      opts: {
        tail: 0,
        limit_bytes: 10,
        timestamps: true,
        follow: false,
        previous: false,
        since_seconds: 0,
        since_time: '0001-01-01T00:00:00Z',
      },
    };
    expect(parseBody(LogRequest, go)).toEqual(parseBody(LogRequest, spec));
    expect(parseBody(LogRequest, go).opts.limit_bytes).toBe(10);
  });
});

describe('interLink container statuses', () => {
  const times = { startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:03.000Z' };

  it('tell waiting, running and terminated in both spellings', () => {
    expect(containerStatus('c', { found: true, phase: 'PENDING' }).state).toEqual({
      waiting: { reason: 'Pending', message: 'waiting for a host with free capacity' },
    });
    expect(containerStatus('c', { found: true, phase: 'RUNNING', ...times })).toMatchObject({
      ready: true,
      state: { running: { started_at: times.startedAt, startedAt: times.startedAt } },
    });
    expect(
      containerStatus('c', { found: true, phase: 'DONE', exitCode: 0, reason: 'exit', attempts: 2, ...times }),
    ).toMatchObject({
      ready: false,
      restartCount: 1,
      state: {
        terminated: {
          exit_code: 0,
          exitCode: 0,
          reason: 'Completed',
          started_at: times.startedAt,
          finishedAt: times.finishedAt,
        },
      },
    });
  });

  it('use Kubernetes reasons and exit codes where the container did not simply exit', () => {
    const terminated = (state: Parameters<typeof containerStatus>[1]) =>
      (containerStatus('c', state).state as { terminated: { exit_code: number; reason: string } }).terminated;
    expect(terminated({ found: true, phase: 'FAILED', exitCode: 137, reason: 'oom' })).toMatchObject({
      exit_code: 137,
      reason: 'OOMKilled',
    });
    expect(terminated({ found: true, phase: 'FAILED', exitCode: 3, reason: 'exit' })).toMatchObject({
      exit_code: 3,
      reason: 'Error',
    });
    expect(terminated({ found: true, phase: 'CANCELED', exitCode: null, reason: 'canceled' })).toMatchObject({
      exit_code: 137,
      reason: 'Canceled',
    });
    expect(terminated({ found: true, phase: 'FAILED', exitCode: null, reason: 'image-pull' })).toMatchObject({
      exit_code: 128,
      reason: 'image-pull',
    });
    expect(containerStatus('c', { found: false }).state).toMatchObject({ waiting: { reason: 'NotFound' } });
  });
});

describe("interLink's published plugin spec", () => {
  it('is kept verbatim, as upstream published it', () => {
    const file = new URL('../fixtures/interlink/plugin-openapi.json', import.meta.url);
    const source = readFileSync(new URL('../fixtures/interlink/SOURCE.md', import.meta.url), 'utf8');
    const recorded = /sha256 `([0-9a-f]{64})`/.exec(source)?.[1];
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(recorded);
  });
});

describe('the state of an action that ends while it is read', () => {
  // The description says RUNNING; by the time the status query is answered the run has ended.
  // The query's view has no exit code: the state must come from the result, not read as 128.
  const result = {
    status: 'DONE',
    exitCode: 0,
    reason: 'exit',
    message: 'exited 0',
    attempts: 1,
    image: 'img',
    timings: [{ step: 'run', startedAt: '2026-01-01T00:00:00.000Z', ms: 4000 }],
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:05.000Z',
  };
  const endedWhileRead = {
    client: {
      workflow: {
        getHandle: () => ({
          describe: async () => ({
            status: { name: 'RUNNING' },
            typedSearchAttributes: { get: () => 'RUNNING' },
            startTime: new Date('2026-01-01T00:00:00Z'),
          }),
        }),
      },
    },
    attach: () => ({
      status: async () => ({ phase: 'DONE', attempt: 1, timings: [] }),
      result: async () => result,
    }),
  } as unknown as ActionsClient;

  it('reports it terminated with the exit code and times of its result', async () => {
    const state = await actionState(endedWhileRead, 'pod-x-c');
    expect(state).toMatchObject({
      found: true,
      phase: 'DONE',
      exitCode: 0,
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:04.000Z',
    });
    expect(containerStatus('c', state).state).toMatchObject({ terminated: { exit_code: 0, reason: 'Completed' } });
  });
});
