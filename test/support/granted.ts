// Secret grants name what runs (activities/trust/secret-grants.ts): the busybox image's digest and each
// test's exact script. The scripts live here so that a grant and the test that runs it cannot drift.
import { docker, env } from './env.js';

export const SCRIPTS = {
  apiToken: 'echo "token is $API_TOKEN"; printf %s "$API_TOKEN" | sha256sum | cut -d" " -f1 > /out/hash',
  nothing: 'true',
  tokenLength: 'echo "${#TEAM_TOKEN}"',
  printsSecrets: 'echo "$TEAM_KEY" >&2; echo "token $TEAM_TOKEN" >&2; printf \'{"token": "%s"}\\n\' "$TEAM_TOKEN"',
} as const;

/** The test image as "registry/repository@sha256:…", as the engine that pushed it knows it. */
export async function busyboxDigestRef(): Promise<string> {
  const image = env('TEST_IMAGE_BUSYBOX');
  const repository = image.replace(/:[^/:]+$/, '');
  const { RepoDigests } = await docker().getImage(image).inspect();
  const found = (RepoDigests ?? []).find((d) => d.startsWith(`${repository}@`));
  if (!found)
    throw new Error(`${image} has no digest in the engine: push it to the registry (scripts/dev-env up does)`);
  return found;
}

/** A grant of the busybox image running `sh -c script`. */
export const grant = (digestRef: string, script: string, extra: { env?: string[]; files?: string[] } = {}) => ({
  image: digestRef,
  command: ['sh', '-c', script],
  ...extra,
});
