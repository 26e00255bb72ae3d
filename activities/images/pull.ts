// Pull with the host's credentials, report progress in heartbeats, and sort failures into the ones
// worth retrying (network, registry hiccups) and the ones that never get better by themselves.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { imageAllowed, parseImageRef, pullReference, type ImageRef } from '../../spec/image.js';
import { registryAuth } from '../../common/templates/registry-auth.js';
import { engineGone } from '../container/engine-watch.js';
import { FailureType } from '../../spec/failures.js';

export interface PullDeps {
  docker: Docker;
  allowedImages: readonly string[];
  dockerConfigDir?: string;
  /** How long a registry that does not answer is tried again before the action fails (default 60 s). */
  registryWaitMs?: number;
}

/** The registry could not be reached (refused, timed out, unknown host): worth trying again a while. */
class RegistryDown extends Error {}

const UNREACHABLE =
  /dial tcp|connection refused|no such host|i\/o timeout|TLS handshake timeout|Client\.Timeout|connection reset by peer|server misbehaving|: EOF\b/i;

export function checkImagePolicy(image: string, allowedImages: readonly string[]): ImageRef {
  const ref = parseImageRef(image);
  if (!ref)
    throw ApplicationFailure.create({
      type: FailureType.ImageNotAllowed,
      nonRetryable: true,
      message: `"${image}" is not an image reference`,
    });
  if (!imageAllowed(ref, allowedImages)) {
    throw ApplicationFailure.create({
      type: FailureType.ImageNotAllowed,
      nonRetryable: true,
      message: `image ${image} is not allowed by policy on this worker (allowed: ${allowedImages.join(', ')}); ask an administrator to extend CAISSON_ALLOWED_IMAGES`,
    });
  }
  return ref;
}

function classify(image: string, err: unknown): never {
  // The engine itself went away mid-pull: the retry pulls again once it answers (execute.ts).
  if (engineGone(err)) throw err;
  const message = (err as Error).message;
  if (/unauthorized|authentication required|no basic auth credentials|denied|forbidden/i.test(message)) {
    throw ApplicationFailure.create({
      type: FailureType.ImageUnauthorized,
      nonRetryable: true,
      message: `pulling ${image} was refused (unauthorized): the worker's registry credentials (DOCKER_CONFIG/config.json: its credHelpers, credsStore or auths) are missing or wrong for this registry`,
    });
  }
  if (UNREACHABLE.test(message)) throw new RegistryDown(message);
  if (/manifest unknown|not found|does not exist|no such image/i.test(message)) {
    throw ApplicationFailure.create({
      type: FailureType.ImageNotFound,
      nonRetryable: true,
      message: `image ${image} was not found in its registry: check the repository name and tag`,
    });
  }
  throw new Error(`pulling ${image} failed: ${message}`);
}

export interface PullProgress {
  status?: string;
  progress?: string;
  id?: string;
}

export async function pullImage(
  deps: PullDeps,
  image: string,
  onProgress: (event: PullProgress) => void = () => {},
): Promise<{ digest?: string }> {
  // Policy first: an image outside the allowed registries never reaches the engine.
  const ref = checkImagePolicy(image, deps.allowedImages);
  // A registry that does not answer is tried again, for a bounded time, then the action fails
  // with a reason of its own instead of retrying for as long as the activity's policy allows.
  const waitMs = deps.registryWaitMs ?? 60_000;
  const until = Date.now() + waitMs;
  for (let pause = 1000; ; pause = Math.min(pause * 2, 10_000)) {
    try {
      return await pullOnce(deps, image, ref, onProgress);
    } catch (err) {
      if (!(err instanceof RegistryDown)) throw err;
      if (Date.now() + pause > until) {
        throw ApplicationFailure.create({
          type: FailureType.RegistryUnreachable,
          nonRetryable: true,
          message: `the registry ${ref.registry} of image ${image} did not answer for ${Math.round(waitMs / 1000)} s (${err.message.slice(0, 300)}): check that it is up and reachable from this host`,
        });
      }
      onProgress({ status: `registry ${ref.registry} does not answer; trying again in ${pause / 1000} s` });
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

async function pullOnce(
  deps: PullDeps,
  image: string,
  ref: ImageRef,
  onProgress: (event: PullProgress) => void,
): Promise<{ digest?: string }> {
  const reference = pullReference(ref);
  const authconfig = await registryAuth(ref.registry, deps.dockerConfigDir);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await deps.docker.pull(reference, authconfig ? { authconfig } : {});
  } catch (err) {
    classify(image, err);
  }
  await new Promise<void>((resolve, reject) => {
    deps.docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: PullProgress) => onProgress({ status: event.status, id: event.id, progress: event.progress }),
    );
  }).catch((err: Error) => classify(image, err));

  const inspected = await deps.docker.getImage(reference).inspect();
  const name = `${ref.registry}/${ref.repository}@`;
  const digest = inspected.RepoDigests?.find((d) => d.startsWith(name))?.slice(name.length);
  return { digest: ref.digest ?? digest }; // pulled by digest: that one, of all the image carries
}
