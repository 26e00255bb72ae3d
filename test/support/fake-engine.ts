// An in-memory container engine (the interface of activities/container/engine.ts) for unit tests of
// the host's run phases: containers are records whose end the test decides, and every call the
// phases make is recorded. Failures carry the engine's HTTP status as `statusCode`, as dockerode's do.
import { PassThrough } from 'node:stream';
import type {
  ContainerEngine,
  CreateOptions,
  EngineContainer,
  EngineInfo,
  InspectInfo,
  LogOptions,
} from '../../activities/container/engine.js';

/** An engine failure as dockerode reports one. */
export function engineError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message}`), {
    statusCode,
    json: { message },
  });
}

/** One frame of the engine's multiplexed log (log-stream.ts). */
function frame(stream: 'stdout' | 'stderr', text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream === 'stderr' ? 2 : 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export class FakeContainer {
  readonly state: InspectInfo['State'] = {
    Status: 'created',
    Running: false,
    StartedAt: '0001-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
    ExitCode: 0,
    OOMKilled: false,
    Error: '',
  };
  private readonly frames: Buffer[] = [];
  private readonly follows = new Set<PassThrough>();
  private readonly waiters: (() => void)[] = [];
  private waitedOn!: () => void;
  /** Settles once a `wait` is open on the container: the run is watching it. */
  readonly watched = new Promise<void>((resolve) => (this.waitedOn = resolve));

  constructor(
    readonly id: string,
    readonly name: string,
    readonly options: CreateOptions,
  ) {}

  get running(): boolean {
    return this.state.Running;
  }

  /** The container writes a line to its log. */
  print(line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    const bytes = frame(stream, `${line}\n`);
    this.frames.push(bytes);
    for (const follow of this.follows) follow.write(bytes);
  }

  begin(startedAt = new Date()): void {
    Object.assign(this.state, { Status: 'running', Running: true, StartedAt: startedAt.toISOString() });
  }

  /** The container's process ends: its waits settle and its log follows end. */
  exit(code: number, how: { oomKilled?: boolean; finishedAt?: Date } = {}): void {
    if (!this.state.Running) return;
    Object.assign(this.state, {
      Status: 'exited',
      Running: false,
      ExitCode: code,
      OOMKilled: how.oomKilled ?? false,
      FinishedAt: (how.finishedAt ?? new Date()).toISOString(),
    });
    for (const follow of this.follows) follow.end();
    this.follows.clear();
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  inspect(): InspectInfo {
    const host = this.options.HostConfig ?? {};
    return {
      Id: this.id,
      State: { ...this.state },
      HostConfig: { ReadonlyRootfs: host.ReadonlyRootfs, StorageOpt: host.StorageOpt },
      SizeRw: 0,
    };
  }

  wait(): Promise<{ StatusCode: number }> {
    this.waitedOn();
    if (!this.state.Running && this.state.Status !== 'created') return Promise.resolve(this.status());
    return new Promise((resolve) => this.waiters.push(() => resolve(this.status())));
  }

  private status(): { StatusCode: number } {
    return { StatusCode: this.state.ExitCode };
  }

  logs(options: LogOptions): NodeJS.ReadableStream | Buffer {
    const frames = options.tail !== undefined ? this.frames.slice(-options.tail) : this.frames;
    if (!options.follow) return Buffer.concat(frames);
    const follow = new PassThrough();
    for (const bytes of frames) follow.write(bytes);
    if (this.state.Running) this.follows.add(follow);
    else follow.end();
    return follow;
  }
}

/** What the engine does when a container starts: by default it runs until it is stopped. */
export type Program = (container: FakeContainer) => void;

export class FakeEngine implements ContainerEngine {
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, as "<operation> <container name>". */
  readonly calls: string[] = [];
  /** A start fails with this (and the container is left created, its State.Error set). */
  startFailure?: Error;
  private made = 0;

  constructor(private readonly program: Program = () => {}) {}

  async info(): Promise<EngineInfo> {
    return { Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'xfs']] };
  }

  async create(options: CreateOptions): Promise<EngineContainer> {
    const name = options.name ?? `c${this.made}`;
    this.calls.push(`create ${name}`);
    if (this.containers.has(name)) throw engineError(409, `Conflict. The container name "/${name}" is already in use`);
    return this.container(this.add(name, options).id);
  }

  /** A container made before the run looks (by an earlier try). */
  add(name: string, options: CreateOptions = { name }): FakeContainer {
    const container = new FakeContainer(`id-${++this.made}`, name, options);
    this.containers.set(name, container);
    return container;
  }

  private find(nameOrId: string): FakeContainer {
    for (const c of this.containers.values()) if (c.name === nameOrId || c.id === nameOrId) return c;
    throw engineError(404, `No such container: ${nameOrId}`);
  }

  container(nameOrId: string): EngineContainer {
    const call = <T>(what: string, fn: (c: FakeContainer) => T): Promise<Awaited<T>> => {
      this.calls.push(`${what} ${nameOrId}`);
      return Promise.resolve()
        .then(() => fn(this.find(nameOrId)))
        .then((result) => result as Awaited<T>);
    };
    const found = [...this.containers.values()].find((c) => c.id === nameOrId);
    return {
      id: found?.id ?? nameOrId,
      inspect: () => call('inspect', (c) => c.inspect()),
      attach: () => call('attach', () => new PassThrough()),
      start: () => call('start', (c) => this.start(c)),
      wait: () => call('wait', (c) => c.wait()),
      logs: ((options: LogOptions) => call('logs', (c) => c.logs(options))) as EngineContainer['logs'],
      stats: () => call('stats', () => Promise.reject(engineError(501, 'no stats in the fake engine'))),
      stop: (options) => call(`stop(t=${options.t})`, (c) => this.halt(c, 143)),
      kill: () => call('kill', (c) => this.halt(c, 137)),
      putArchive: () => call('putArchive', () => undefined),
    };
  }

  private start(container: FakeContainer): void {
    if (container.running) throw engineError(304, 'container already started');
    if (this.startFailure) {
      container.state.Error = engineMessageOf(this.startFailure);
      throw this.startFailure;
    }
    container.begin();
    this.program(container);
  }

  /** A stop or kill: 304 when the container is not running, as the engine answers. */
  private halt(container: FakeContainer, code: number): void {
    if (!container.running) throw engineError(304, 'container already stopped');
    container.exit(code);
  }
}

function engineMessageOf(err: Error): string {
  return (err as { json?: { message?: string } }).json?.message ?? err.message;
}
