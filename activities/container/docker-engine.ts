// The container engine interface (engine.ts) on dockerode: one adapter per Docker client, so that
// what is learnt of an engine (sizing.ts) is kept per client.
import type Docker from 'dockerode';
import type { ContainerEngine, EngineContainer, InspectInfo, LogOptions } from './engine.js';

/** One container of a Docker client, as the engine interface's container. */
export function dockerContainer(container: Docker.Container): EngineContainer {
  return {
    id: container.id,
    inspect: (options) => container.inspect(options as Docker.ContainerInspectOptions) as Promise<InspectInfo>,
    attach: (options) => container.attach(options),
    start: () => container.start(),
    wait: () => container.wait() as Promise<{ StatusCode?: number }>,
    logs: ((options: LogOptions) =>
      container.logs(options as Docker.ContainerLogsOptions & { follow: true })) as EngineContainer['logs'],
    stats: (options) => container.stats(options),
    stop: (options) => container.stop(options),
    kill: () => container.kill(),
    putArchive: (tar, options) => container.putArchive(tar, options),
  };
}

const adapters = new WeakMap<Docker, ContainerEngine>();

export function dockerEngine(docker: Docker): ContainerEngine {
  let engine = adapters.get(docker);
  if (!engine) {
    engine = {
      info: () => docker.info(),
      create: async (options) => dockerContainer(await docker.createContainer(options)),
      container: (nameOrId) => dockerContainer(docker.getContainer(nameOrId)),
    };
    adapters.set(docker, engine);
  }
  return engine;
}
