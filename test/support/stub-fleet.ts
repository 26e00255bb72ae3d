// A fleet of stub activities for the workflow tests: `place` on the shared queue, the host steps on
// each host's own queue, `finalize` on the results queue, registered there as a real fleet's
// workers register them. Each answers as the test says and every call is recorded (activity, queue,
// request, attempt), so that a test asserts what the workflow asked of whom, and how often.
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../activities/index.js';
import type {
  ContainerRequest,
  ExecuteAnswer,
  ExecuteRequest,
  FinalizeRequest,
  Placement,
  PlaceRequest,
  ReleaseRequest,
} from '../../activities/types.js';
import { assembleResult, type ActionResult, type RunOutcome } from '../../spec/result.js';
import { resultsQueue } from '../../spec/workflow-api.js';
import type { WorkflowEnv } from './workflow-env.js';

export type StubActivity = 'place' | 'execute' | 'stopContainer' | 'removeRun' | 'releasePlacement' | 'finalize';

export interface Call {
  activity: StubActivity;
  queue: string;
  request: unknown;
  /** Temporal's attempt of this activity (a retry is a new attempt of the same call). */
  attempt: number;
}

/** What a host answers, given the request and which host it is. */
export interface StubHandlers {
  place: (req: PlaceRequest) => Promise<Placement>;
  execute: (req: ExecuteRequest, host: string) => Promise<ExecuteAnswer>;
  stopContainer: (req: ContainerRequest, host: string) => Promise<void>;
  removeRun: (req: ContainerRequest, host: string) => Promise<void>;
  releasePlacement: (req: ReleaseRequest, host: string) => Promise<void>;
  finalize: (req: FinalizeRequest) => Promise<string>;
}

/** A promise with its resolve at hand, for a stub that waits for the test (or the test for a stub). */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Heartbeats with these details until `until` settles, as a host's execute does in every phase. */
export async function heartbeatUntil<T>(details: unknown, until: Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details);
  const beat = setInterval(() => ctx.heartbeat(details), 100);
  try {
    return await until;
  } finally {
    clearInterval(beat);
  }
}

/**
 * A step that never ends by itself: it ends when it is cancelled (a workflow's cancel reaches it
 * through a heartbeat; the worker's shutdown at the end of a test reaches it anyway). Without
 * heartbeats after the first, it is a host gone silent.
 */
export async function hang(details: unknown, { heartbeats = true } = {}): Promise<never> {
  const ctx = Context.current();
  if (heartbeats) return heartbeatUntil(details, ctx.cancelled);
  ctx.heartbeat(details);
  return ctx.cancelled;
}

/** The result a host writes for a run that ended with `outcome` (or was stopped, when `canceled`). */
export function hostResult(req: ExecuteRequest, host: string, outcome: RunOutcome, canceled = false): ActionResult {
  const result = assembleResult({
    actionId: req.actionId,
    runId: req.runId,
    image: req.spec.image,
    timeoutText: 'the timeout',
    host,
    attempts: req.attempt,
    outcome,
    canceled,
    timings: req.timings,
    startedAt: req.startedAt,
    finishedAt: new Date().toISOString(),
  });
  return { ...result, resultUri: `s3://stub/${req.actionId}/result.json` };
}

/** A container that ran and exited with `exitCode`. */
export const exited = (exitCode: number): RunOutcome => ({
  exitCode,
  reason: 'exit',
  logTail: [`exited ${exitCode}`],
  reattached: 0,
});

/** A host that runs every action to exit 0 on the first attempt. */
const DEFAULTS: Omit<StubHandlers, 'place'> = {
  execute: async (req, host) => ({ again: false, result: hostResult(req, host, exited(0)) }),
  stopContainer: async () => {},
  removeRun: async () => {},
  releasePlacement: async () => {},
  finalize: async (req) => `s3://stub/${req.result.actionId}/result.json`,
};

let fleets = 0;

export class StubFleet {
  readonly calls: Call[] = [];
  readonly handlers: StubHandlers;
  /**
   * The fleet's shared queue, where its workflows run: each fleet has queues of its own, so that a
   * test that failed half-way leaves nothing that answers the next one.
   */
  readonly taskQueue = `workflow-tests-${++fleets}`;

  private readonly hosts: string[];
  private readonly hostSlots: number | undefined;

  /**
   * `hosts`: the hosts that have a worker (a host placed on but not listed never answers);
   * `hostSlots`: how many steps a host's worker takes at once (a host whose one slot is held by a
   * stuck step takes nothing more, as a hung worker process).
   */
  constructor(
    private readonly wf: WorkflowEnv,
    handlers: Partial<StubHandlers> = {},
    { hosts = ['a', 'b'], hostSlots }: { hosts?: string[]; hostSlots?: number } = {},
  ) {
    this.hosts = hosts;
    this.hostSlots = hostSlots;
    this.handlers = { ...DEFAULTS, place: this.placeOn('a'), ...handlers };
  }

  /** The queue a stub host polls. */
  hostQueue(host: string): string {
    return `${this.taskQueue}-host-${host}`;
  }

  /** Places on the hosts named, one per placement, the last one for every placement after. */
  placeOn(...hosts: string[]): StubHandlers['place'] {
    let placements = 0;
    return async () => {
      const host = hosts[Math.min(placements++, hosts.length - 1)]!;
      return { host, hostQueue: this.hostQueue(host) };
    };
  }

  get env(): TestWorkflowEnvironment {
    return this.wf.env;
  }

  /** The calls of one activity, in order. */
  callsOf(activity: StubActivity): Call[] {
    return this.calls.filter((c) => c.activity === activity);
  }

  /** The queues one activity was called on, in order. */
  queuesOf(activity: StubActivity): string[] {
    return this.callsOf(activity).map((c) => c.queue);
  }

  /** The results the workflow itself wrote as result.json (where its host did not), in order. */
  finalized(): ActionResult[] {
    return this.callsOf('finalize').map((c) => (c.request as FinalizeRequest).result);
  }

  private record<Req, Res>(activity: StubActivity, queue: string, answer: (req: Req) => Promise<Res>) {
    return async (req: Req): Promise<Res> => {
      this.calls.push({ activity, queue, request: req, attempt: Context.current().info.attempt });
      return answer(req);
    };
  }

  /** Runs the workflow worker and every stub worker until `body` settles, and returns what it returns. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    const h = this.handlers;
    const connection = this.wf.env.nativeConnection;
    const shared = Worker.create({
      connection,
      taskQueue: this.taskQueue,
      workflowBundle: this.wf.bundle,
      activities: { place: this.record('place', this.taskQueue, (req: PlaceRequest) => h.place(req)) },
    });
    const results = Worker.create({
      connection,
      taskQueue: resultsQueue(this.taskQueue),
      activities: {
        finalize: this.record('finalize', resultsQueue(this.taskQueue), (req: FinalizeRequest) => h.finalize(req)),
      },
    });
    const hosts = this.hosts.map((host) => {
      const queue = this.hostQueue(host);
      return Worker.create({
        connection,
        taskQueue: queue,
        ...(this.hostSlots ? { maxConcurrentActivityTaskExecutions: this.hostSlots } : {}),
        activities: {
          execute: this.record('execute', queue, (req: ExecuteRequest) => h.execute(req, host)),
          stopContainer: this.record('stopContainer', queue, (req: ContainerRequest) => h.stopContainer(req, host)),
          removeRun: this.record('removeRun', queue, (req: ContainerRequest) => h.removeRun(req, host)),
          releasePlacement: this.record('releasePlacement', queue, (req: ReleaseRequest) =>
            h.releasePlacement(req, host),
          ),
        } satisfies Partial<Activities>,
      });
    });
    const workers = await Promise.all([shared, results, ...hosts]);
    const done = body();
    // Every worker shuts down once the body settled, however it settled; then its outcome counts.
    await Promise.allSettled(workers.map((w) => w.runUntil(done)));
    return done;
  }
}
