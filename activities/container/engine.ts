// The container engine as the host's run phases see it: only the calls they make, so that they
// depend on this interface and not on dockerode (docker-engine.ts adapts dockerode to it; the
// unit tests give an in-memory one). Call shapes follow the engine's API: a failed call rejects
// with the engine's HTTP status as `statusCode` (304 already in that state, 404 gone, 409 conflict).
import type Docker from 'dockerode';

/** What a container is made with: the engine API's create body, as dockerode names it. */
export type CreateOptions = Docker.ContainerCreateOptions;
export type HostConfig = Docker.HostConfig;
export type DeviceRequest = Docker.DeviceRequest;

/** What the engine says of its storage driver (`docker info`): whether it can bound a layer. */
export interface EngineInfo {
  Driver?: string;
  DriverStatus?: [string, string][] | null;
}

/** The part of `docker inspect` the phases read. */
export interface InspectInfo {
  Id: string;
  State: {
    Status: string;
    Running: boolean;
    StartedAt: string;
    FinishedAt: string;
    ExitCode: number;
    OOMKilled: boolean;
    Error: string;
  };
  HostConfig: { ReadonlyRootfs?: boolean; StorageOpt?: { [option: string]: string } };
  Config?: { Labels?: Record<string, string> };
  /** The writable layer's size, when asked for with `size: true`. */
  SizeRw?: number;
}

/** A log read: followed (a stream that ends with the container) or all of it at once. */
export interface LogOptions {
  follow: boolean;
  stdout: true;
  stderr: true;
  timestamps?: boolean;
  since?: number;
  tail?: number;
}

/** One container, by name or id; every call goes to the engine (nothing is cached). */
export interface EngineContainer {
  readonly id: string;
  inspect(options?: { size?: boolean }): Promise<InspectInfo>;
  /** The container's stdin, attached before the start (a hijacked connection). */
  attach(options: { stream: true; stdin: true; hijack: true }): Promise<NodeJS.ReadWriteStream>;
  start(): Promise<unknown>;
  /** Settles once the container has stopped (at once for one that has). */
  wait(): Promise<{ StatusCode?: number }>;
  /** Multiplexed frames (log-stream.ts): a stream when followed, one buffer otherwise. */
  logs(options: LogOptions & { follow: true }): Promise<NodeJS.ReadableStream>;
  logs(options: LogOptions & { follow: false }): Promise<Buffer>;
  /** The engine's stats stream: one JSON sample a line, about one a second. */
  stats(options: { stream: true }): Promise<NodeJS.ReadableStream>;
  /** SIGTERM, then SIGKILL after `t` seconds. */
  stop(options: { t: number }): Promise<unknown>;
  kill(): Promise<unknown>;
  /** Unpacks a tar into the container's filesystem at `path`. */
  putArchive(tar: NodeJS.ReadableStream, options: { path: string }): Promise<unknown>;
}

export interface ContainerEngine {
  info(): Promise<EngineInfo>;
  create(options: CreateOptions): Promise<EngineContainer>;
  container(nameOrId: string): EngineContainer;
}
