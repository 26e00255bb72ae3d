// Image references, split the way the Docker engine reads them, so that registry policy is checked
// on the same registry the engine would contact.

export interface ImageRef {
  /** Registry host (with port), "docker.io" when the reference names none. */
  registry: string;
  /** Repository path inside the registry, e.g. "team/tool" ("library/x" on Docker Hub). */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^(?:(?<host>[a-zA-Z0-9.-]+(?::\\d+)?)/)?(?<path>${COMPONENT}(?:/${COMPONENT})*)` +
    `(?::(?<tag>[\\w][\\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$`,
);

export function parseImageRef(reference: string): ImageRef | undefined {
  const match = REFERENCE.exec(reference);
  if (!match?.groups) return undefined;
  let { host, path } = match.groups as { host?: string; path: string };
  // The first component is a registry only if it looks like a host, as the engine decides it.
  if (host && !host.includes('.') && !host.includes(':') && host !== 'localhost') {
    if (!new RegExp(`^${COMPONENT}$`).test(host)) return undefined;
    path = `${host}/${path}`;
    host = undefined;
  }
  const registry = host ?? 'docker.io';
  const repository = registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
  return { registry, repository, tag: match.groups.tag, digest: match.groups.digest };
}

/** The reference the engine pulls: a digest wins over a tag, and no tag means "latest". */
export function pullReference(ref: ImageRef): string {
  const name = `${ref.registry}/${ref.repository}`;
  return ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
}

/**
 * Administrators allow images by pattern: "registry", "registry/namespace/*", or an exact
 * "registry/repository". "*" alone allows everything.
 */
export function imageAllowed(ref: ImageRef, patterns: readonly string[]): boolean {
  const full = `${ref.registry}/${ref.repository}`;
  return patterns.some((pattern) => {
    if (pattern === '*') return true;
    if (pattern.endsWith('/*')) return full.startsWith(pattern.slice(0, -1));
    if (!pattern.includes('/')) return ref.registry === pattern;
    return full === pattern;
  });
}
