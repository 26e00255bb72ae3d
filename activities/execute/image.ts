// The image phase of an execute: the image made ready on the host, and the request to make the
// container from, pinned to the image's digest when a secret's grant names that digest. A pod's
// other images (spec.containers) are pulled after it, under the same policy.
import { secretsOf } from '../../spec/action.js';
import { parseImageRef } from '../../spec/image.js';
import { extraMembers } from '../../spec/containers.js';
import type { ExecuteRequest } from '../types.js';
import { timed, type ExecuteContext } from './context.js';

export interface ReadyImage {
  digest?: string;
  /** The request the container is made from. */
  made: ExecuteRequest;
}

export async function readyImage(ctx: ExecuteContext): Promise<ReadyImage> {
  const { deps, req, progress, activity } = ctx;
  const image = await timed(ctx, 'pull', () =>
    deps.images.ensure(req.spec.image, req.spec.pullPolicy, (event) =>
      activity.heartbeat({ ...progress, pull: event }),
    ),
  );
  // A pod's other images are made ready too (each checked against the host's allowed images).
  await readyMemberImages(ctx);
  // A secret's grant names a digest: the one the host has now, and the container is made from
  // that digest, not from the tag (which another pull on the engine could move meanwhile).
  let made = req;
  if (secretsOf(req.spec).length) {
    await deps.checkGrants?.(req.spec, image.digest ?? 'unknown');
    const ref = parseImageRef(req.spec.image);
    if (ref && image.digest)
      made = { ...req, spec: { ...req.spec, image: `${ref.registry}/${ref.repository}@${image.digest}` } };
  }
  return { digest: image.digest, made };
}

/** The images of a pod's other containers (spec.containers), each once, after the main one's. */
async function readyMemberImages(ctx: ExecuteContext): Promise<void> {
  const { deps, req, progress, activity } = ctx;
  const images = new Set(extraMembers(req.spec).map((m) => m.image));
  images.delete(req.spec.image);
  if (!images.size) return;
  await timed(ctx, 'pull', async () => {
    for (const image of images)
      await deps.images.ensure(image, req.spec.pullPolicy, (event) => activity.heartbeat({ ...progress, pull: event }));
  });
}
