// Images on this host, so that a run does not ask the registry for what the host already has: a
// digest present on the host is never pulled again, a tag at most once per pull window, and
// concurrent runs of one image share one pull. The allow-list is checked before any of it.
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import { parseImageRef, pullReference } from '../../spec/image.js';
import { checkImagePolicy, pullImage, type PullDeps, type PullProgress } from './pull.js';
import { FailureType } from '../../spec/failures.js';

export type PullPolicy = 'always' | 'if-not-present' | 'never';

export interface ImageAnswer {
  digest?: string;
  /** False when the host's copy was used without asking the registry. */
  pulled: boolean;
}

export class ImageCache {
  private readonly pulledAt = new Map<string, { at: number; digest?: string }>();
  private readonly pulling = new Map<string, Promise<{ digest?: string }>>();

  constructor(
    private readonly deps: PullDeps,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async ensure(
    image: string,
    policy: PullPolicy | undefined,
    onProgress: (event: PullProgress) => void,
  ): Promise<ImageAnswer> {
    const ref = checkImagePolicy(image, this.deps.allowedImages);
    const reference = pullReference(ref);
    if (policy === 'never' || policy === 'if-not-present' || (ref.digest && policy !== 'always')) {
      const local = await this.localDigest(reference, `${ref.registry}/${ref.repository}@`);
      // A reference by digest is that digest, whichever other digests the image also carries.
      if (local.present) return { digest: ref.digest ?? local.digest, pulled: false };
      if (policy === 'never') {
        throw ApplicationFailure.create({
          type: FailureType.ImageNotFound,
          nonRetryable: true,
          message: `image ${image} is not on host and pullPolicy is "never": pull it on the host first, or use another pullPolicy`,
        });
      }
    } else if (policy === undefined) {
      const recent = this.pulledAt.get(reference);
      if (recent && this.now() - recent.at < this.windowMs) return { digest: recent.digest, pulled: false };
    }
    let pull = this.pulling.get(reference);
    if (!pull) {
      pull = pullImage(this.deps, image, onProgress)
        .then((answer) => {
          this.pulledAt.set(reference, { at: this.now(), digest: answer.digest });
          return answer;
        })
        .finally(() => this.pulling.delete(reference));
      this.pulling.set(reference, pull);
    }
    return { ...(await pull), pulled: true };
  }

  /**
   * The host lost its copy of the image (removed by hand, pruned) while the pull window trusted it:
   * the next run of it pulls again instead of failing on the missing image until the window ends.
   */
  forget(image: string, err: unknown): void {
    const e = err as { statusCode?: number; message?: string };
    if (e?.statusCode !== 404 || !/no such image/i.test(e.message ?? '')) return;
    const ref = parseImageRef(image);
    if (ref) this.pulledAt.delete(pullReference(ref));
  }

  private async localDigest(reference: string, prefix: string): Promise<{ present: boolean; digest?: string }> {
    try {
      const inspected = await (this.deps.docker as Docker).getImage(reference).inspect();
      return { present: true, digest: inspected.RepoDigests?.find((d) => d.startsWith(prefix))?.slice(prefix.length) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { present: false };
      throw err;
    }
  }
}
