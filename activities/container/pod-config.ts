// What a pod's containers (spec.containers) are created with, beside its main one. Each is made
// as the main one is (container-config.ts) from the member's own image, command, env and share of
// the action's cpu and memory, with what belongs to the main one alone left out: stdin input,
// files, /in, secrets, GPUs and /out. All share the run's /tmp_disk; those that run beside the
// main one share its network namespace (loopback only without a network). Pure.
import { memberLimits, MAIN_CONTAINER, type PodMember } from '../../spec/containers.js';
import type { ContainerRequest } from '../types.js';
import type { ContainerDisk } from '../disks/host-disk.js';
import { containerOptions } from './container-config.js';
import { LABEL } from './labels.js';
import type { CreateOptions } from './engine.js';
import type { RunDeps } from './run-deps.js';

/** The run's request with the main container's share of the action's cpu and memory. */
export function mainRequest(req: ContainerRequest): ContainerRequest {
  const limits = memberLimits(req.spec)[MAIN_CONTAINER]!;
  return { ...req, spec: { ...req.spec, resources: { ...req.spec.resources, ...limits } } };
}

/** The request a member is made from: its own program in the run's spec, without the main one's extras. */
function memberRequest(req: ContainerRequest, member: PodMember): ContainerRequest {
  const { gpus: _gpus, ...resources } = req.spec.resources;
  const limits = memberLimits(req.spec)[member.name] ?? {};
  return {
    ...req,
    gpuIds: undefined,
    // A gang replica's rank and peers are its main container's: a member beside it shares its network.
    replica: undefined,
    spec: {
      ...req.spec,
      image: member.image,
      command: member.command,
      args: member.args,
      env: member.env,
      workingDir: member.workingDir,
      resources: { ...resources, ...limits },
      input: undefined,
      inputs: [],
      files: [],
      secrets: [],
    },
  };
}

/**
 * The engine's create body for a member. `joins`: the main container whose network namespace it
 * shares (the containers running beside it); an init container runs before it, on its own.
 */
export function memberOptions(
  deps: RunDeps,
  req: ContainerRequest,
  member: PodMember,
  where: { name: string; joins?: string; engineSizes: boolean; disk: ContainerDisk },
): CreateOptions {
  const options = containerOptions(deps, memberRequest(req, member), where.name, {}, where.engineSizes, where.disk);
  // What the run holds on the host is told by its main container: counted once.
  const { [LABEL.held]: _held, ...labels } = options.Labels ?? {};
  const { NetworkDisabled: _off, ...joined } = options;
  return {
    ...(where.joins ? joined : options),
    Labels: { ...labels, [LABEL.container]: member.name },
    HostConfig: {
      ...options.HostConfig,
      ...(where.joins ? { NetworkMode: `container:${where.joins}` } : {}),
      Mounts: (options.HostConfig?.Mounts ?? []).filter((m) => m.Target !== '/out'),
    },
  };
}
