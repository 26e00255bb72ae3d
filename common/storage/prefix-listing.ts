// Every object under an S3 prefix, page by page, each with its path below the prefix: the whole
// of an action's /out, where the result lists only its first thousand files.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { RemoteObject } from './object-download.js';

export interface ListedObject extends RemoteObject {
  /** The key below the prefix, as the store gave it: not yet checked for a local disk. */
  path: string;
}

export async function* listUnder(s3: S3Client, bucket: string, prefix: string): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue; // a folder marker holds no file
      yield {
        key: o.Key,
        path: o.Key.slice(prefix.length),
        size: o.Size ?? 0,
        etag: o.ETag,
        lastModified: o.LastModified,
      };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
