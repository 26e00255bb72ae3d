// Whether the engine can bound a container's own filesystem (`--storage-opt size`), and creating
// the container with that bound when it can. What is learnt is kept per engine.
import type { ContainerEngine, CreateOptions, EngineContainer, EngineInfo } from './engine.js';
import { engineMessage, status } from './engine-errors.js';

/**
 * Engines whose storage driver refuses `--storage-opt size`: overlay2 needs XFS (with project
 * quotas), so one on another filesystem is known from `docker info` without a failed create; any
 * other refusal is learnt from the first one, so each worker pays for one failed create at most.
 */
const sizeRefused = new WeakSet<ContainerEngine>();
const engineLooked = new WeakMap<ContainerEngine, Promise<void>>();

/** Overlay2 on a backing filesystem other than XFS cannot bound a container's layer. */
export function driverCannotSize(info: EngineInfo): boolean {
  if (info.Driver !== 'overlay2') return false;
  const backing = (info.DriverStatus ?? []).find(([key]) => key === 'Backing Filesystem')?.[1];
  return backing !== undefined && backing.toLowerCase() !== 'xfs';
}

export async function engineMaySize(engine: ContainerEngine): Promise<boolean> {
  let looked = engineLooked.get(engine);
  if (!looked) {
    looked = Promise.resolve()
      .then(() => engine.info())
      .then((info) => {
        if (driverCannotSize(info)) sizeRefused.add(engine);
      })
      .catch(() => {
        engineLooked.delete(engine); // asked again with the next container
      });
    engineLooked.set(engine, looked);
  }
  await looked;
  return !sizeRefused.has(engine);
}

/** The engine's refusal of StorageOpt (overlay2 without XFS quotas, devicemapper's minimum, …). */
export function refusesStorageOpt(err: unknown): boolean {
  const code = status(err) ?? 0;
  return code >= 400 && /storage[- ]?opt|quota|container size/i.test(engineMessage(err));
}

/**
 * Creates the container, with the engine's size limit on its filesystem when the engine may have
 * one; an engine that refuses it is remembered and asked again without. `sized`: the engine bounds it.
 */
export async function createSized(
  engine: ContainerEngine,
  options: CreateOptions,
): Promise<{ container: EngineContainer; sized: boolean }> {
  const sized = options.HostConfig?.StorageOpt !== undefined;
  if (!sized) return { container: await engine.create(options), sized };
  try {
    return { container: await engine.create(options), sized };
  } catch (err) {
    if (!refusesStorageOpt(err)) throw err;
    sizeRefused.add(engine);
    const { StorageOpt: _refused, ...hostConfig } = options.HostConfig!;
    return { container: await engine.create({ ...options, HostConfig: hostConfig }), sized: false };
  }
}
