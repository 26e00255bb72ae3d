// A Docker client for an engine other than the one DOCKER_HOST names (tests and benchmarks that
// start engines of their own); the product itself only ever uses worker/docker.ts.
import Docker from 'dockerode';

export function engineAt(dockerHost: string): Docker {
  const url = new URL(dockerHost);
  if (url.protocol !== 'unix:') throw new Error(`engineAt takes unix:// sockets, not ${dockerHost}`);
  return new Docker({ socketPath: url.pathname });
}
