// A pod's secrets from the fleet's secret store, never from the request: the host resolves a
// secret by name (CAISSON_SECRETS_DIR/NAME) when it creates the container, so a value never enters
// the action's history. A Kubernetes secret's key is the host's secret `<secret>_<key>` (each
// character that cannot be in a secret name as "_"): an env var takes it when named so, and a
// secret volume's keys become files whose content is that secret. What cannot be honoured is refused.
import type { ActionSpecInput } from '../spec/action.js';
import type { ContainerVolumes, PodVolume } from './requests.js';
import type { Report } from './pod-members.js';

type Files = NonNullable<ActionSpecInput['files']>;

/** The host's secret that holds the key of a Kubernetes secret. */
function hostSecretName(secret: string, key: string): string {
  const name = `${secret}_${key}`.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** An env var from secretKeyRef: the host's secret of that name, when the variable is named so. */
export function envSecret(
  variable: string,
  ref: { name?: string | null; key: string },
  report: Report,
): string | undefined {
  const name = hostSecretName(ref.name ?? '', ref.key);
  if (variable === name) return name;
  report(
    ['value_from'],
    `env ${variable}: a secret key is given as the host's secret "${name}" (CAISSON_SECRETS_DIR/${name}), under its own name: name the variable ${name}`,
  );
  return undefined;
}

/** A secret volume's keys as files under the mount path, each the content of its host secret. */
export function secretFiles(
  volume: PodVolume & { secret: NonNullable<PodVolume['secret']> },
  mount: { mount_path: string; sub_path?: string | null },
  sent: ContainerVolumes | undefined,
  report: Report,
): Files {
  const { secret_name: name, items, default_mode } = volume.secret;
  // Only the keys of the data sent along are read: the values stay out of the action.
  const keys = Object.keys(sent?.secrets?.find((s) => s.metadata.name === name)?.data ?? {});
  const chosen = items?.length ? items : keys.map((key) => ({ key, path: key, mode: null }));
  if (!chosen.length) {
    report(
      ['name'],
      `secret volume "${volume.name}": secret volumes are not supported without their keys: list them as items`,
    );
    return [];
  }
  return chosen
    .filter((item) => !mount.sub_path || mount.sub_path === item.path)
    .map((item) => ({
      path: mount.sub_path ? mount.mount_path : `${mount.mount_path.replace(/\/+$/, '')}/${item.path}`,
      contentFromSecret: hostSecretName(name, item.key ?? item.path),
      mode: item.mode ?? default_mode ?? 0o600,
    }));
}
