// A tag's digest, asked of the registry itself (the distribution API's manifest endpoint), with the
// caller's Docker credentials: what a template pins its image to when it is registered.
import { parseImageRef, type ImageRef } from '../../spec/image.js';
import { registryAuth, type RegistryAuth } from './registry-auth.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const REQUEST_TIMEOUT_MS = 15_000;

/** The registry's address as the engine reaches it: Docker Hub's API host, plain HTTP for loopback registries. */
function registryBase(registry: string): string {
  if (registry === 'docker.io' || registry === 'index.docker.io') return 'https://registry-1.docker.io';
  const host = registry.replace(/:\d+$/, '');
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  return `${loopback ? 'http' : 'https'}://${registry}`;
}

function basic(auth: RegistryAuth | undefined): string | undefined {
  if (!auth?.username || auth.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** A bearer token from the registry's token service (the challenge of a 401), for pulling `repository`. */
async function bearer(challenge: string, repository: string, auth: RegistryAuth | undefined): Promise<string> {
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  if (!params.realm) throw new Error('the registry asked for a token without saying where to get one');
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.set('scope', `repository:${repository}:pull`);
  const headers: Record<string, string> = {};
  const credentials = basic(auth);
  if (credentials) headers.authorization = credentials;
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`the registry's token service answered ${response.status}`);
  const body = (await response.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error("the registry's token service gave no token");
  return `Bearer ${token}`;
}

/**
 * "registry/repository@sha256:…" for an image reference: a digest reference as it is, a tag (or
 * none: "latest") resolved by the registry. Errors say what went wrong, never a credential.
 */
export async function pinImage(image: string, dockerConfigDir?: string): Promise<{ image: string; digest: string }> {
  const ref = parseImageRef(image);
  if (!ref) throw new Error(`not an image reference: ${image}`);
  if (ref.digest) return { image: `${ref.registry}/${ref.repository}@${ref.digest}`, digest: ref.digest };
  const digest = await manifestDigest(ref, await registryAuth(ref.registry, dockerConfigDir));
  return { image: `${ref.registry}/${ref.repository}@${digest}`, digest };
}

async function manifestDigest(ref: ImageRef, auth: RegistryAuth | undefined): Promise<string> {
  const url = `${registryBase(ref.registry)}/v2/${ref.repository}/manifests/${ref.tag ?? 'latest'}`;
  const ask = (authorization?: string) =>
    fetch(url, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES, ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  const where = `${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`;
  let response = await ask().catch((err: Error) => {
    throw new Error(`cannot reach the registry of ${where}: ${err.message}`);
  });
  if (response.status === 401) {
    const challenge = response.headers.get('www-authenticate') ?? '';
    const authorization = /^bearer /i.test(challenge) ? await bearer(challenge, ref.repository, auth) : basic(auth);
    if (!authorization) throw new Error(`the registry of ${where} needs credentials: docker login ${ref.registry}`);
    response = await ask(authorization);
  }
  if (response.status === 404) throw new Error(`${where} is not in its registry`);
  if (response.status === 401 || response.status === 403)
    throw new Error(`the registry refused access to ${where} with the credentials of docker login`);
  if (!response.ok) throw new Error(`the registry answered ${response.status} for ${where}`);
  const digest = response.headers.get('docker-content-digest');
  if (!digest || !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`the registry gave no digest for ${where}`);
  return digest;
}
