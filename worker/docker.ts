import Docker from 'dockerode';

/** A Docker client for "unix:///path" or "tcp://host:port"; unset means the engine's default socket. */
export function dockerClient(dockerHost: string | undefined): Docker {
  if (!dockerHost) return new Docker();
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol === 'tcp:' || url.protocol === 'http:') {
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
  }
  throw new Error(`DOCKER_HOST ${dockerHost}: use unix:///path/to/docker.sock or tcp://host:port`);
}
