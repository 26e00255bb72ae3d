// Pull with the host's credentials, report progress in heartbeats, and sort failures into the ones
// worth retrying (network, registry hiccups) and the ones that never get better by themselves.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { imageAllowed, parseImageRef, pullReference, type ImageRef } from '../spec/image.js';
import { registryAuth } from '../common/registry-auth.js';
import { engineGone } from './engine-watch.js';

export interface PullDeps {
  docker: Docker;
  allowedImages: readonly string[];
  dockerConfigDir?: string;
}

export function checkImagePolicy(image: string, allowedImages: readonly string[]): ImageRef {
  const ref = parseImageRef(image);
  if (!ref) throw ApplicationFailure.create({ type: 'ImageNotAllowed', nonRetryable: true, message: `"${image}" is not an image reference` });
  if (!imageAllowed(ref, allowedImages)) {
    throw ApplicationFailure.create({
      type: 'ImageNotAllowed',
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
      type: 'ImageUnauthorized',
      nonRetryable: true,
      message: `pulling ${image} was refused (unauthorized): the worker's registry credentials (DOCKER_CONFIG/config.json: its credHelpers, credsStore or auths) are missing or wrong for this registry`,
    });
  }
  if (/manifest unknown|not found|does not exist|no such image/i.test(message)) {
    throw ApplicationFailure.create({
      type: 'ImageNotFound',
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
