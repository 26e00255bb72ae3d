// One way to reach S3 for every side (worker, client, CLI, Action): the AWS SDK's own variables.
import { NoSuchKey, S3Client } from '@aws-sdk/client-s3';

export interface S3Settings {
  AWS_ENDPOINT_URL_S3?: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  /** Temporary keys (STS, SSO, a CI's OIDC role) are refused by S3 without their session token. */
  AWS_SESSION_TOKEN?: string;
}

/** What the SDK takes as fixed credentials (its AwsCredentialIdentity). */
interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function s3ClientFromEnv(config: S3Settings, env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.AWS_ENDPOINT_URL_S3,
    // Self-hosted S3 servers (MinIO and the like) serve buckets by path, not by host name.
    forcePathStyle: Boolean(config.AWS_ENDPOINT_URL_S3),
    credentials: explicitCredentials(config, env),
  });
}

/**
 * The key pair `config` names, with its session token; undefined when it names none, and then the
 * SDK's default provider chain finds credentials as the AWS CLI does: the environment (with
 * AWS_SESSION_TOKEN), SSO and profiles (AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE and
 * AWS_ROLE_ARN: EKS, CI OIDC), the container's or the instance's role, refreshed before they expire.
 */
function explicitCredentials(config: S3Settings, env: NodeJS.ProcessEnv = process.env): StaticCredentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = config;
  if (!accessKeyId || !secretAccessKey) return undefined;
  // A token is valid only with the key it was issued with: the environment's goes with the
  // environment's key (a config parsed from the environment may not carry the token itself).
  const sessionToken =
    config.AWS_SESSION_TOKEN || (accessKeyId === env.AWS_ACCESS_KEY_ID ? env.AWS_SESSION_TOKEN : undefined);
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/** S3's "no such object" in its several shapes (GetObject throws NoSuchKey, HeadObject a bare 404). */
export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err instanceof NoSuchKey || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404
  );
}
