// What a run of a container needs from its worker (RunDeps) and from its activity (RunHooks).
import type Docker from 'dockerode';
import type { ContainerRequest } from '../types.js';
import type { HostCapacity } from '../placement/capacity.js';
import type { HostDisks } from '../disks/host-disk.js';
import type { Owner } from './labels.js';
import type { LogShipper } from '../logs/log-shipper.js';
import type { InputObject } from '../inputs/inputs.js';
import type { InputCache } from '../inputs/input-cache.js';
import type { EngineWatch } from './engine-watch.js';
import type { EgressProxies } from '../egress/egress-proxies.js';
import type { GangHost } from '../gang/gang-host.js';

export interface RunDeps {
  docker: Docker;
  host: string;
  /** The namespace and queue beside the host: the labels that keep other workers' hands off (labels.ts). */
  owner: Owner;
  capacity: HostCapacity;
  secretsDir?: string;
  env: NodeJS.ProcessEnv;
  /** Where this action's artifacts go, told to the container as ACTION_ARTIFACTS. */
  artifactsUri: (req: ContainerRequest) => string;
  /** Tells when the engine's connection breaks (engine-watch.ts). */
  engine: EngineWatch;
  /** How long a run waits for an engine that went away before it is placed elsewhere. */
  engineAwayMs: number;
  /** How long an exit by a signal nobody asked for waits to be told from the engine shutting down (default 45 s). */
  engineShutdownMs?: number;
  /** Runs whose stop was asked for on this host: such a container is never started. */
  stopRequested: Set<string>;
  /**
   * Runs whose engine went away under them on this worker (the connection broke while their
   * container ran): an exit by signal found after that is the engine's doing, not the action's.
   */
  engineLost: Set<string>;
  /** Filesystems of their own for /out and /tmp_disk; without, anonymous volumes (no size limit). */
  disks?: HostDisks;
  /** The disk budget of an action: its outDisk and tmpDisk, or the worker's defaults. */
  diskBytes: (spec: ContainerRequest['spec']) => number;
  /** Input objects this host fetched already (with disks only: inputs are staged onto them). */
  inputCache?: InputCache;
  /**
   * What the container may write outside /out and /tmp_disk (its own filesystem: /root, /tmp,
   * /var…): the action's tmpDisk, or the worker's default. Without it that filesystem is unbounded.
   */
  rootfsBytes?: (spec: ContainerRequest['spec']) => number;
  /** The policy's readOnlyRootfs: that filesystem is read-only, and /tmp a tmpfs counted as memory. */
  readOnlyRootfs?: boolean;
  /** The egress network and its proxies, where the policy grants egress; without, no egress runs here. */
  egress?: EgressProxies;
  /** Gang networks and relays, where the host has an address its peers reach; without, no replica joins network "gang". */
  gang?: GangHost;
}

export interface RunHooks {
  heartbeat: (details: { containerId: string; logTail: string[] }) => void;
  signal: AbortSignal;
  /** The activity's first try: no earlier try can have made the container, so none is looked for. */
  firstTry: boolean;
  /** Ships the log to S3 as it is written (opened before the container exists: it needs none). */
  log?: Promise<LogShipper>;
  /** The action's secrets, when the caller resolved them already (to redact its other outputs too). */
  secrets?: Record<string, string>;
  /** The objects of the spec's inputs, looked up already: staged into /in before the start. */
  inputs?: InputObject[];
}
