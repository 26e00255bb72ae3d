// Registry credentials come from the worker's side only, never from the action spec: a Docker
// config.json (the file `docker login` writes), looked up in $DOCKER_CONFIG or ~/.docker.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export async function registryAuth(registry: string, dockerConfigDir?: string): Promise<RegistryAuth | undefined> {
  const file = join(dockerConfigDir ?? join(homedir(), '.docker'), 'config.json');
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read registry credentials from ${file}: ${(err as Error).message}`);
  }
  const hub = registry === 'docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'] : [];
  for (const key of [registry, `https://${registry}`, `http://${registry}`, ...hub]) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: registry };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, serveraddress: registry };
  }
  return undefined;
}
