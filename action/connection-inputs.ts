// Where the Action reaches Temporal: each connection input, or, left empty, the variable of the
// job's environment the CLI and the workers read (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_*, CAISSON_CODEC_KEYS, CAISSON_TASK_QUEUE), so one `env:` block
// serves every step of a job. Secret values are masked wherever they come from.
import type * as core from '@actions/core';
import { codecKeysFromEnv } from '../common/connection/payload-codec.js';
import { temporalSettingsFromEnv, type TemporalSettings } from '../common/connection/temporal-connection.js';
import type { InputReader, Problems } from './input-values.js';

export interface ConnectionInputs {
  temporal: TemporalSettings;
  taskQueue: string;
}

/** The inputs whose values are secrets, and the variables that stand in for them. */
const SECRET_INPUTS = ['temporal-api-key', 'temporal-tls-key', 'codec-keys'];

/**
 * Masks every secret the step may use before anything can print one: the inputs, and the job's
 * variables they fall back to (the codec keys as read, from CAISSON_CODEC_KEYS or its _FILE).
 */
export function maskSecrets(actions: InputReader & Pick<typeof core, 'setSecret'>, env: NodeJS.ProcessEnv): void {
  const fromEnv = [env.TEMPORAL_API_KEY, env.TEMPORAL_TLS_KEY, codecKeysFromEnv(env)];
  for (const value of [...SECRET_INPUTS.map((name) => actions.getInput(name)), ...fromEnv])
    if (value) actions.setSecret(value);
}

/** The connection settings: an input when set, else the job's variable, else the default. */
export function connectionFromInputs(
  actions: InputReader,
  problems: Problems,
  env: NodeJS.ProcessEnv,
): ConnectionInputs {
  const get = (name: string) => actions.getInput(name) || undefined;
  const fallback = temporalSettingsFromEnv(env);
  const address = get('temporal-address') ?? fallback.address;
  if (!/^[^:\s]+:\d+$/.test(address))
    problems.push({ input: 'temporal-address', message: 'host:port, e.g. temporal.example.com:7233' });
  return {
    temporal: {
      address,
      namespace: get('temporal-namespace') ?? fallback.namespace,
      apiKey: get('temporal-api-key') ?? fallback.apiKey,
      tlsCert: get('temporal-tls-cert') ?? fallback.tlsCert,
      tlsKey: get('temporal-tls-key') ?? fallback.tlsKey,
      tlsCa: get('temporal-tls-ca') ?? fallback.tlsCa,
      codecKeys: get('codec-keys') ?? fallback.codecKeys,
    },
    taskQueue: get('task-queue') ?? (env.CAISSON_TASK_QUEUE || 'caisson'),
  };
}
