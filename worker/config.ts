// Worker configuration: environment variables, validated at start with a message for each bad value,
// and described for the operator (SETTING_DOCS, written into docs/operating.md by npm run docs:config).
import { z } from 'zod';
import { hostname } from 'node:os';
import { parseBytes } from '../spec/quantity.js';
import { LABEL_PATTERN } from '../spec/action.js';
import { codecKeysFromEnv, parseCodecKeys } from '../common/connection/payload-codec.js';
import { profileSettings } from '../common/connection/temporal-profile.js';
import { tracingSettingFromEnv } from '../common/tracing/tracing-setting.js';

const list = z.string().transform((text) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

const positiveInt = (name: string) =>
  z.coerce
    .number({ message: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be at least 1`);

const bytes = (name: string) =>
  z.string().transform((text, ctx) => {
    const parsed = parseBytes(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: `${name}: ${parsed.message}` });
    return z.NEVER;
  });

export const WorkerConfig = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'host:port, e.g. 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  /** The shared queue where actions are placed; each host also serves its own queue. */
  CAISSON_TASK_QUEUE: z.string().min(1).default('caisson'),
  /** This host's name; its own queue is "<task queue>@<host>". */
  CAISSON_HOST: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_", "-"')
    .default(hostname()),
  CAISSON_CAPACITY: positiveInt('CAISSON_CAPACITY').default(2),
  /**
   * What this host gives actions in all (placement fits each action's cpu, memory, disk budget and
   * GPUs next to what runs): by default the machine's cores, memory, the disks folder's size, no GPUs.
   */
  CAISSON_HOST_CPU: z.coerce
    .number({ message: 'CAISSON_HOST_CPU must be a number of cores' })
    .positive('CAISSON_HOST_CPU must be above 0')
    .optional(),
  CAISSON_HOST_MEMORY: bytes('CAISSON_HOST_MEMORY').optional(),
  CAISSON_HOST_DISK: bytes('CAISSON_HOST_DISK').optional(),
  /** GPU device ids as the engine's device requests name them ("0,1", or GPU UUIDs); given out one action at a time. */
  CAISSON_GPUS: list
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a device id: letters, digits, ".", "_", ":" or "-"'))
        .max(64),
    )
    .default([]),
  /** Labels actions can require or prefer: "zone=a,disk=nvme". */
  CAISSON_HOST_LABELS: list
    .transform((items, ctx) => {
      const labels: Record<string, string> = {};
      for (const item of items) {
        const eq = item.indexOf('=');
        const [k, v] = eq > 0 ? [item.slice(0, eq), item.slice(eq + 1)] : [item, ''];
        if (!LABEL_PATTERN.test(k) || !LABEL_PATTERN.test(v)) {
          ctx.addIssue({
            code: 'custom',
            message: `"${item}": write name=value, each 1-63 letters, digits, ".", "_", "/" or "-"`,
          });
        } else labels[k] = v;
      }
      return labels;
    })
    .default({}),
  /**
   * The address other hosts reach this one on (an IP address or a DNS name): replicas of a gang on
   * network "gang" publish their ports there. Unset, this host takes no replica of such a gang.
   */
  CAISSON_HOST_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,63}$/, 'an IP address or a DNS name (letters, digits, ".", ":", "-")')
    .optional(),
  /** The ports ("from-to") replicas of gangs are published on here: one per replica placed on this host. */
  CAISSON_GANG_PORTS: z
    .string()
    .transform((text, ctx): [number, number] => {
      const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
      const [from, to] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
      if (!(from >= 1 && to <= 65535 && from <= to)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}": write from-to, ports 1-65535 with from at most to (e.g. 30000-30999)`,
        });
        return z.NEVER;
      }
      return [from, to];
    })
    .default([30000, 30999]),
  /**
   * Among hosts that can run an action now: "spread" gives it to the emptiest, "binpack" to the
   * fullest (counting actions), "any" to the first that asks (no registry read per placement: for
   * large fleets, see docs/scale.md). Every worker of a fleet sets the same.
   */
  CAISSON_PLACEMENT: z
    .enum(['spread', 'binpack', 'any'], { message: 'CAISSON_PLACEMENT is "spread", "binpack" or "any"' })
    .default('spread'),
  /** On SIGTERM the worker takes nothing new and waits this long for what runs to finish, then stops (its runs re-attach on restart). */
  CAISSON_DRAIN_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /** Read by the Docker client itself, as the Docker CLI reads them; validated here so a typo fails at start. */
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|ssh|npipe):\/\/./, 'unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host')
    .optional(),
  DOCKER_TLS_VERIFY: z.enum(['0', '1', '']).optional(),
  DOCKER_CERT_PATH: z.string().optional(),
  /** Docker config.json folder holding registry credentials (the same file `docker login` writes). */
  DOCKER_CONFIG: z.string().optional(),
  AWS_ENDPOINT_URL_S3: z.url('a URL such as http://127.0.0.1:9000').optional(),
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  CAISSON_ARTIFACTS_BUCKET: z
    .string({ message: 'required: the S3 bucket that receives artifacts' })
    .min(3, 'an S3 bucket name'),
  CAISSON_ARTIFACTS_PREFIX: z.string().default('actions'),
  /**
   * Comma-separated: "registry", "registry/namespace/*", "registry/repository", or "*". Empty (the
   * default) allows nothing: a fleet opens itself explicitly.
   */
  CAISSON_ALLOWED_IMAGES: list.default([]),
  /** A JSON policy file (worker/policy-file.ts): defaults, ceilings, host network, buckets, secrets. */
  CAISSON_POLICY_FILE: z.string().min(1).optional(),
  /** A folder of files named after secrets; each file's content is the value. */
  CAISSON_SECRETS_DIR: z.string().optional(),
  /** Seconds during which a tag pulled on this host is used again without asking the registry. */
  CAISSON_PULL_WINDOW: z.coerce
    .number({ message: 'CAISSON_PULL_WINDOW must be a number of seconds' })
    .min(0)
    .default(60),
  /**
   * Where containers' own filesystems for /out and /tmp_disk are mounted ("off": anonymous volumes,
   * no size limit, /out read through the engine; also what a remote engine gets).
   */
  CAISSON_DISKS_DIR: z.string().default('/var/lib/caisson/disks'),
  /**
   * Input objects fetched on this host are kept here for other actions asking for the same version,
   * up to CAISSON_INPUT_CACHE_SIZE (least recently used go first; 0: no cache). Default: beside the disks folder.
   */
  CAISSON_INPUT_CACHE_DIR: z.string().optional(),
  CAISSON_INPUT_CACHE_SIZE: bytes('CAISSON_INPUT_CACHE_SIZE').default(4 * 2 ** 30),
  /** Disk budget of an action that names none: room for /out, and for /tmp_disk. */
  CAISSON_OUT_DISK: bytes('CAISSON_OUT_DISK').default(2 ** 30),
  CAISSON_TMP_DISK: bytes('CAISSON_TMP_DISK').default(2 ** 30),
  /** How long a registry that does not answer is tried again before the action fails (reason registry-unreachable). */
  CAISSON_REGISTRY_WAIT_SECONDS: positiveInt('CAISSON_REGISTRY_WAIT_SECONDS')
    .max(3600, 'CAISSON_REGISTRY_WAIT_SECONDS is at most 3600')
    .default(60),
  /**
   * How long a run waits for a container engine that went away (crashed, restarting) to answer
   * again: then it re-attaches; past it, the action is placed on another host.
   */
  CAISSON_ENGINE_AWAY_SECONDS: positiveInt('CAISSON_ENGINE_AWAY_SECONDS')
    .max(3600, 'CAISSON_ENGINE_AWAY_SECONDS is at most 3600')
    .default(60),
  /**
   * How long an exit by SIGTERM or SIGKILL nobody here asked for waits to be told from the engine
   * shutting down (which stops every container, then goes away): a busy dockerd needs 20 s or more.
   */
  CAISSON_ENGINE_SHUTDOWN_SECONDS: positiveInt('CAISSON_ENGINE_SHUTDOWN_SECONDS')
    .max(300, 'CAISSON_ENGINE_SHUTDOWN_SECONDS is at most 300')
    .default(45),
  /** Seconds between reconcile passes: leftovers removed, overdue containers killed, slots corrected. */
  CAISSON_RECONCILE_SECONDS: positiveInt('CAISSON_RECONCILE_SECONDS')
    .max(3600, 'CAISSON_RECONCILE_SECONDS is at most 3600')
    .default(60),
  /**
   * "id:base64key" pairs: payloads encrypted (common/connection/payload-codec.ts); the first key encrypts.
   * Or CAISSON_CODEC_KEYS_FILE, a file holding them (read in loadWorkerConfig).
   */
  CAISSON_CODEC_KEYS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        parseCodecKeys(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  CAISSON_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** host:port of the metrics and health server, for binding beyond loopback (IPv6 in brackets: [::]:9464). */
  CAISSON_METRICS_ADDRESS: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:9464 or [::]:9464')
    .optional(),
  CAISSON_LOG_FORMAT: z.enum(['json', 'text'], { message: 'CAISSON_LOG_FORMAT is "json" or "text"' }).default('json'),
  CAISSON_LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'], { message: 'CAISSON_LOG_LEVEL is "debug", "info", "warn" or "error"' })
    .default('info'),
  /** OpenTelemetry tracing and where its spans go (common/tracing/tracing-setting.ts); unset, none. */
  CAISSON_OTEL: z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return tracingSettingFromEnv({ CAISSON_OTEL: value });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
});

export type WorkerConfig = z.output<typeof WorkerConfig>;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const picked = Object.fromEntries(Object.keys(WorkerConfig.shape).map((key) => [key, env[key] || undefined]));
  const fileProblems: string[] = [];
  try {
    picked.CAISSON_CODEC_KEYS = codecKeysFromEnv(env);
  } catch (err) {
    fileProblems.push(`  - CAISSON_CODEC_KEYS_FILE: ${(err as Error).message}`);
  }
  // What the TEMPORAL_* variables leave unset, Temporal's standard variables or profile may give
  // (common/connection/temporal-profile.ts), checked here as if it had been set.
  try {
    const profile = profileSettings(env);
    picked.TEMPORAL_ADDRESS ??= profile.address;
    picked.TEMPORAL_NAMESPACE ??= profile.namespace;
    picked.TEMPORAL_API_KEY ??= profile.apiKey;
    picked.TEMPORAL_TLS_CERT ??= profile.tlsCert;
    picked.TEMPORAL_TLS_KEY ??= profile.tlsKey;
    picked.TEMPORAL_TLS_CA ??= profile.tlsCa;
  } catch (err) {
    fileProblems.push(`  - TEMPORAL_CONFIG_FILE: ${(err as Error).message}`);
  }
  const result = WorkerConfig.safeParse(picked);
  if (!result.success || fileProblems.length) {
    const lines = [
      ...fileProblems,
      ...(result.error?.issues ?? []).map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`),
    ];
    throw new Error(`invalid worker configuration (environment variables):\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The queue only this host's worker serves: every step after placement goes there. */
export const hostQueue = (taskQueue: string, host: string) => `${taskQueue}@${host}`;

/** How docs/operating.md describes a setting; `default` is given where the schema's own cannot speak for it. */
export interface SettingDoc {
  about: string;
  default?: string;
}

/**
 * Every worker setting as the operator's table shows it (scripts/write-config-docs.ts writes it into
 * docs/operating.md). Typed against the schema's keys, so a new variable cannot go undocumented; a
 * `default` that the schema reads as a value must be the schema's own default (the script checks).
 */
export const SETTING_DOCS = {
  TEMPORAL_ADDRESS: { about: 'The Temporal frontend, host:port; unset, a Temporal profile may give it (below).' },
  TEMPORAL_NAMESPACE: { about: 'The namespace the worker serves; a namespace is the boundary between teams.' },
  TEMPORAL_API_KEY: { about: 'An API key, sent as `authorization: Bearer …` over TLS.' },
  TEMPORAL_TLS_CERT: { about: 'Client certificate (PEM file) for mutual TLS to Temporal.' },
  TEMPORAL_TLS_KEY: { about: "The client certificate's key (PEM file)." },
  TEMPORAL_TLS_CA: { about: 'A private CA (PEM file) that signed the server certificate.' },
  CAISSON_TASK_QUEUE: { about: 'The shared queue where actions are placed; each host also serves `<queue>@<host>`.' },
  CAISSON_HOST: {
    about: "This host's name in the fleet and in its own queue's name.",
    default: "the machine's host name",
  },
  CAISSON_CAPACITY: { about: 'Actions this host runs at once.' },
  CAISSON_HOST_CPU: { about: 'Cores this host gives actions in all.', default: "the engine's cores (`docker info`)" },
  CAISSON_HOST_MEMORY: { about: 'Memory this host gives actions in all.', default: "the engine's memory" },
  CAISSON_HOST_DISK: {
    about: 'Disk budgets (`outDisk + tmpDisk`) this host gives actions in all.',
    default: 'the size of the filesystem holding `CAISSON_DISKS_DIR`',
  },
  CAISSON_GPUS: { about: 'GPU device ids (`0,1` or GPU UUIDs), given out to one action at a time.' },
  CAISSON_HOST_LABELS: { about: 'Labels actions can require or prefer: `zone=a,disk=nvme`.' },
  CAISSON_HOST_ADDRESS: {
    about:
      'The address other hosts reach this one on; replicas of a gang with `network: gang` publish their ports there. Unset: this host takes none of them.',
  },
  CAISSON_GANG_PORTS: {
    about: 'The ports (`from-to`) replicas of gangs are published on here, one per replica placed on this host.',
    default: '30000-30999',
  },
  CAISSON_PLACEMENT: {
    about:
      '`spread` (emptiest host), `binpack` (fullest with a free slot) or `any` (first to ask); the same on every worker.',
  },
  CAISSON_DRAIN_SECONDS: {
    about: 'On SIGTERM or SIGINT: take nothing new, wait this long for running actions, then stop.',
  },
  DOCKER_HOST: { about: 'The engine: `unix://`, `tcp://` or `ssh://` (a remote engine gets volumes, no disks).' },
  DOCKER_TLS_VERIFY: { about: 'Mutual TLS to the engine, read as the Docker CLI reads it.' },
  DOCKER_CERT_PATH: { about: 'A folder with `ca.pem`, `cert.pem` and `key.pem` for the engine.' },
  DOCKER_CONFIG: {
    about: 'Folder of the `config.json` with registry credentials (`credHelpers`, `credsStore`, `auths`).',
  },
  AWS_ENDPOINT_URL_S3: { about: 'A self-hosted S3 (MinIO, …).' },
  AWS_REGION: { about: "The artifacts bucket's region." },
  AWS_ACCESS_KEY_ID: {
    about: "S3 keys (with `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); none: the AWS SDK's default chain.",
  },
  AWS_SECRET_ACCESS_KEY: { about: 'The secret half of the S3 keys.' },
  CAISSON_ARTIFACTS_BUCKET: { about: 'The bucket for artifacts, logs, results, templates and the fleet.' },
  CAISSON_ARTIFACTS_PREFIX: { about: "The root under which each action's folder `<root>/<action id>/` lives." },
  CAISSON_ALLOWED_IMAGES: {
    about:
      'Images allowed to run: `registry`, `registry/namespace/*`, `registry/repository` or `*`; empty allows none.',
  },
  CAISSON_POLICY_FILE: { about: "The host's JSON policy (docs/trust.md), checked at start." },
  CAISSON_SECRETS_DIR: { about: 'A folder of files named after secrets (else `CAISSON_SECRET_<NAME>`).' },
  CAISSON_PULL_WINDOW: { about: 'Seconds a pulled tag is used again without asking the registry.' },
  CAISSON_DISKS_DIR: {
    about: "Where containers' own filesystems for `/out` and `/tmp_disk` are mounted; `off`: anonymous volumes.",
  },
  CAISSON_INPUT_CACHE_DIR: {
    about: 'The host cache of input objects (least recently used evicted first).',
    default: '`input-cache` beside the disks folder',
  },
  CAISSON_INPUT_CACHE_SIZE: { about: 'Size of the input cache; `0` turns it off.', default: '4Gi' },
  CAISSON_OUT_DISK: { about: 'Room for `/out` of an action whose spec names none.', default: '1Gi' },
  CAISSON_TMP_DISK: { about: 'Room for `/tmp_disk` of an action whose spec names none.', default: '1Gi' },
  CAISSON_REGISTRY_WAIT_SECONDS: {
    about: 'How long a registry that does not answer is tried again (then `registry-unreachable`).',
  },
  CAISSON_ENGINE_AWAY_SECONDS: {
    about: 'How long a run waits for an engine that went away; past it the action is placed elsewhere.',
  },
  CAISSON_ENGINE_SHUTDOWN_SECONDS: {
    about:
      "How long a container's exit by a signal nobody asked for (137, 143) waits to be told from the engine shutting down before it counts as the action's.",
  },
  CAISSON_RECONCILE_SECONDS: { about: 'Seconds between reconcile passes (leftovers, overdue containers, slots).' },
  CAISSON_CODEC_KEYS: { about: '`id:base64key` pairs, comma-separated: payloads encrypted, the first key encrypts.' },
  CAISSON_CODEC_KEYS_FILE: { about: 'A file holding the codec keys, one per line (a mounted secret).' },
  CAISSON_METRICS_PORT: {
    about: 'Serve Prometheus metrics on `127.0.0.1:<port>/metrics`, with `/healthz` and `/readyz` beside them.',
  },
  CAISSON_METRICS_ADDRESS: {
    about: 'Where that server listens instead, `host:port` (`0.0.0.0:9464`, `[::]:9464`) to be scraped from elsewhere.',
    default: '`127.0.0.1:<CAISSON_METRICS_PORT>`',
  },
  CAISSON_LOG_FORMAT: { about: "The worker's log lines on stderr: `json` (one object a line) or `text`." },
  CAISSON_LOG_LEVEL: { about: 'The least level logged: `debug`, `info`, `warn` or `error`.' },
  CAISSON_OTEL: {
    about:
      'OpenTelemetry tracing: `otlp` (or `1`; the `OTEL_EXPORTER_OTLP_*` variables), `stderr` or `file:<path>` (JSON lines).',
    default: 'off',
  },
} satisfies Record<keyof typeof WorkerConfig.shape | 'CAISSON_CODEC_KEYS_FILE', SettingDoc>;
