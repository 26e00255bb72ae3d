// A typed client for services: start an action (or attach to it), follow it, get its result, cancel it.
// Needs Temporal access, and read access to the artifacts bucket to follow every line of a log
// (without it, logTail() still gives the last lines the host reports). Nothing here talks to Docker.
import { randomUUID } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import {
  ActionId,
  ActionSpec,
  parseActionSpec,
  InvalidSpecError,
  type Action,
  type ActionSpecInput,
} from '../spec/action.js';
import type { ActionResult } from '../spec/result.js';
import {
  ActionExitCodeKey,
  ActionHostKey,
  ActionImageKey,
  ActionSourceKey,
  ActionStatusKey,
  ActionTemplateKey,
} from '../spec/search-attributes.js';
import {
  findTemplate,
  registerTemplate,
  specFromTemplate,
  templateStore,
  TemplateError,
  type TemplateStore,
  type StoredTemplate,
  type TemplateRun,
} from '../common/templates/templates.js';
import {
  WORKFLOW_TYPE,
  logsQuery,
  statusQuery,
  type FleetOptions,
  type RunActionInput,
  type StatusView,
} from '../spec/workflow-api.js';
import type { runAction } from '../workflows/run-action.js';
import {
  connectionOptions,
  dataConverterFor,
  temporalSettingsFromEnv,
  type TemporalSettings,
} from '../common/connection/temporal-connection.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3ClientFromEnv } from '../common/storage/s3-client.js';
import { readLog, type LogLine, type LogOptions, type RunLogState } from './log-reader.js';
import { ContainerLogMissingError, storedContainerLog, type StoredLogChunk } from './container-log.js';
import { ActionSchedules, ScheduleError } from './schedules.js';
import { ArrayHandle, keptOutputs, startArray } from './arrays.js';
import { settledResult } from './settled-result.js';
import type { ArrayBest, ArrayChild, ArrayOptionsInput, ArrayResult } from '../spec/array.js';
import { FailureType } from '../spec/failures.js';
import { labelsOf, metadataOf, type ActionMetadata } from './action-metadata.js';
import { annotationsMemo, labelAttributes } from '../spec/start-metadata.js';
import { labelsQuery, quoteValue } from './visibility-query.js';
import { downloadOut, listOut, type DownloadOptions, type DownloadSummary } from './artifacts.js';
import type { ListedObject } from '../common/storage/prefix-listing.js';
import { clientTracingFromEnv } from '../common/tracing/client-tracing.js';

export { InvalidSpecError };
export { ContainerLogMissingError, type StoredLogChunk };
export { labelsQuery, quoteValue };
export type { ActionMetadata };
export { TemplateError, ScheduleError, ActionSchedules };
export { temporalSettingsFromEnv, type TemporalSettings };
export { keptOutputs };
export type { ArrayBest, ArrayChild, ArrayHandle, ArrayOptionsInput, ArrayResult };
export type { ScheduleRun } from './schedules.js';
export type { ActionResult, ActionSpecInput, StatusView, LogLine, LogOptions, StoredTemplate, TemplateRun };
export type { DownloadOptions, DownloadProgress, DownloadSummary, DownloadedFile } from './artifacts.js';
export type { ListedObject };

export interface StartOptions {
  /** Chosen by the caller for idempotency: starting the same id again attaches to that run. */
  actionId?: string;
  taskQueue?: string;
  fleet?: FleetOptions;
}

export interface ActionSummary {
  actionId: string;
  runId: string;
  status: string;
  image?: string;
  template?: string;
  host?: string;
  exitCode?: number;
  /** The action's labels, when it has any. */
  labels?: Record<string, string>;
  startTime: Date;
  closeTime?: Date;
}

/** The workflow's status, with the action's labels and annotations when it has them. */
export type ActionStatusView = StatusView & ActionMetadata;

/** What the host activity heartbeats: its phase and the live log tail. */
interface HostProgress {
  phase?: string;
  attempt?: number;
  liveLogs?: string;
  logTail?: string[];
}

/** Following every line needs S3; this client was made without access to it. */
export class LogsUnavailableError extends Error {
  constructor() {
    super(
      'following the full log needs read access to the artifacts bucket: set AWS_ENDPOINT_URL_S3 (for a self-hosted S3), AWS_REGION and credentials',
    );
    this.name = 'LogsUnavailableError';
  }
}

/** An S3 client from the AWS variables when any is set; undefined when none is. */
export function logStoreFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client | undefined {
  if (!env.AWS_ENDPOINT_URL_S3 && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) return undefined;
  return s3ClientFromEnv({ ...env, AWS_REGION: env.AWS_REGION || 'us-east-1' });
}

/** Downloading artifacts needs S3; this client was made without access to it. */
export class ArtifactsUnavailableError extends Error {
  constructor() {
    super(
      'downloading artifacts needs read access to the artifacts bucket: set AWS_ENDPOINT_URL_S3 (for a self-hosted S3), AWS_REGION and credentials',
    );
    this.name = 'ArtifactsUnavailableError';
  }
}

/** Activities that carry a run's progress in their heartbeats (execute; runContainer for older runs). */
const PROGRESS_ACTIVITIES = new Set(['execute', 'runContainer']);

/** Raw heartbeat details are payloads as stored: decoded with the client's codecs (encrypted fleets). */
async function hostProgressOf(
  description: WorkflowExecutionDescription,
  converter: LoadedDataConverter,
): Promise<HostProgress | undefined> {
  for (const activity of description.raw.pendingActivities ?? []) {
    const payloads = activity.heartbeatDetails?.payloads;
    if (payloads?.length && PROGRESS_ACTIVITIES.has(activity.activityType?.name ?? '')) {
      return decodeFromPayloadsAtIndex<HostProgress>(converter, 0, payloads);
    }
  }
  return undefined;
}

/** The action id is taken by an action with another spec. */
export class ActionConflictError extends Error {
  constructor(
    readonly actionId: string,
    readonly fields: string[],
  ) {
    super(
      `action ${actionId} already exists with a different spec (${fields.join(', ')} differ): ` +
        'start it with the same spec to attach to it, or choose another action id',
    );
    this.name = 'ActionConflictError';
  }
}

/** Top-level spec fields whose values differ, defaults applied on both sides. */
function differingFields(a: Action, b: Action): string[] {
  const canonical = (value: unknown): string =>
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as object).sort(([x], [y]) => x.localeCompare(y)))
        : v,
    ) ?? '';
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((key) => canonical(a[key as keyof Action]) !== canonical(b[key as keyof Action]));
}

export class ActionHandle {
  constructor(
    readonly actionId: string,
    private readonly workflow: WorkflowHandle,
    /** False when the start attached to a run that already existed. */
    readonly started: boolean,
    private readonly logStore?: S3Client,
  ) {}

  /** Whether logs() can be used: the client has access to the artifacts bucket. */
  get canReadLogs(): boolean {
    return this.logStore !== undefined;
  }

  /**
   * Every line of the container's log, in order, from S3 (where the host ships it as it is
   * written), each with its stream, time and attempt. With `follow`, it keeps going until the
   * action has ended and its last line was read; a reader that starts late catches up first.
   */
  logs(options: LogOptions = {}): AsyncIterable<LogLine> {
    if (!this.logStore) throw new LogsUnavailableError();
    let seen: string | undefined;
    const state = async (): Promise<RunLogState> => {
      const description = await this.workflow.describe();
      const progress = await this.progressIn(description);
      seen = progress?.liveLogs ?? seen;
      if (description.status.name === 'RUNNING') return { closed: false, liveLogs: seen, attempts: progress?.attempt };
      const result = await this.result().catch(() => undefined);
      return { closed: true, liveLogs: result?.liveLogs ?? seen, attempts: result?.attempts };
    };
    return readLog(this.logStore, state, options);
  }

  /**
   * Every file the action's final attempt stored from /out, listed from S3 (all of them, where the
   * result names the first thousand). Waits for the action to end.
   */
  async *artifactObjects(): AsyncGenerator<ListedObject> {
    if (!this.logStore) throw new ArtifactsUnavailableError();
    yield* listOut(this.logStore, await this.result());
  }

  /**
   * Downloads the files of the action's /out (of its final attempt; waits for the action to end)
   * into `toDir`, those `include` selects: streamed, each written whole or not at all, a file
   * already there whole skipped, a key that would land outside `toDir` refused.
   */
  async download(toDir: string, options: DownloadOptions = {}): Promise<DownloadSummary> {
    if (!this.logStore) throw new ArtifactsUnavailableError();
    return downloadOut(this.logStore, await this.result(), toDir, options);
  }

  /**
   * The stored log of one container of a pod (spec.containers), stdout then stderr: waits for the
   * action to end, since only the top-level container's log is live (logs()).
   */
  async *containerLog(container: string, signal?: AbortSignal): AsyncGenerator<StoredLogChunk> {
    if (!this.logStore) throw new LogsUnavailableError();
    yield* storedContainerLog(this.logStore, await this.result(), container, signal);
  }

  /** Whether the action has ended, from its description alone (no worker needed). */
  async hasEnded(): Promise<boolean> {
    return (await this.workflow.describe()).status.name !== 'RUNNING';
  }

  /** The action's labels and annotations, from its description alone (no worker needed). */
  async metadata(): Promise<ActionMetadata> {
    return metadataOf(await this.workflow.describe());
  }

  /** The attempt the action is on (while it runs) or ended with. */
  async currentAttempt(): Promise<number> {
    const description = await this.workflow.describe();
    if (description.status.name === 'RUNNING') return (await this.workflow.query(statusQuery)).attempt || 1;
    return (await this.result().catch(() => undefined))?.attempts || 1;
  }

  /**
   * The action id of replica `rank` of a gang (spec.replicas): its current attempt's while the gang
   * runs (waiting while the gang is being placed), its last attempt's once the gang has ended.
   */
  async replicaId(rank: number, pollMs = 500): Promise<string> {
    for (;;) {
      const description = await this.workflow.describe();
      if (description.status.name !== 'RUNNING') {
        const replicas = (await this.result()).replicas;
        const id = replicas?.find((r) => r.rank === rank)?.actionId;
        if (id) return id;
        throw new Error(
          replicas
            ? `action ${this.actionId} has replicas 0 to ${replicas.length - 1}, not ${rank}`
            : `action ${this.actionId} ran no replicas (it is not a gang, or it ended before its replicas were placed)`,
        );
      }
      const view = await this.workflow.query(statusQuery);
      const id = view.replicas?.find((r) => r.rank === rank)?.actionId;
      if (id) return id;
      if (view.replicas?.length)
        throw new Error(`action ${this.actionId} has replicas 0 to ${view.replicas.length - 1}, not ${rank}`);
      // Still being placed: its replicas get their ids once all of them have a host.
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** The action's result for every outcome: DONE, FAILED and CANCELED all resolve. */
  result(): Promise<ActionResult> {
    return settledResult<ActionResult>(this.workflow, FailureType.ActionFailed);
  }

  /**
   * The workflow's status, with the phase the host reports while it works on the action (PULLING,
   * RUNNING, COLLECTING: the heartbeat of the host activity).
   */
  async status(): Promise<ActionStatusView> {
    const [view, description] = await Promise.all([this.workflow.query(statusQuery), this.workflow.describe()]);
    const progress = await this.progressIn(description);
    const metadata = metadataOf(description);
    if (view.phase === 'RUNNING' && progress?.phase)
      return { ...view, phase: progress.phase as StatusView['phase'], ...metadata };
    return { ...view, ...metadata };
  }

  /**
   * The freshest log tail: while the container runs, the one the host activity last heartbeated;
   * afterwards, the final tail the workflow keeps.
   */
  async logTail(): Promise<string[]> {
    const description = await this.workflow.describe();
    const progress = await this.progressIn(description);
    if (progress?.logTail?.length) return progress.logTail;
    if (description.status.name === 'RUNNING') return this.workflow.query(logsQuery);
    return (await this.result().catch(() => undefined))?.logTail ?? [];
  }

  private progressIn(description: WorkflowExecutionDescription): Promise<HostProgress | undefined> {
    return hostProgressOf(description, this.workflow.client.options.loadedDataConverter);
  }

  async cancel(): Promise<void> {
    await this.workflow.cancel();
  }
}

export class ActionsClient {
  /** With tracing on (CAISSON_OTEL), what close() flushes. */
  private stopTracing?: () => Promise<void>;

  constructor(
    readonly client: Client,
    readonly taskQueue: string = process.env.CAISSON_TASK_QUEUE || 'caisson',
    /** Read access to the artifacts bucket, for logs(); by default from the AWS variables. */
    readonly logStore: S3Client | undefined = logStoreFromEnv(),
  ) {}

  static async connect(
    settings: TemporalSettings = temporalSettingsFromEnv(),
    taskQueue?: string,
    logStore?: S3Client,
  ): Promise<ActionsClient> {
    let connection: Connection;
    const tracing = await clientTracingFromEnv();
    try {
      connection = await Connection.connect(connectionOptions(settings));
    } catch (err) {
      await tracing?.shutdown();
      // Unreachable, refused by a proxy (certificate, API key), or TLS files unreadable: say where.
      throw new Error(
        `cannot connect to Temporal at ${settings.address} (namespace ${settings.namespace}): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const client = new ActionsClient(
      new Client({
        connection,
        namespace: settings.namespace,
        dataConverter: dataConverterFor(settings),
        interceptors: tracing && { workflow: tracing.interceptors },
      }),
      taskQueue,
      logStore ?? logStoreFromEnv(),
    );
    client.stopTracing = tracing?.shutdown;
    return client;
  }

  async close(): Promise<void> {
    this.logStore?.destroy();
    await this.client.connection.close();
    await this.stopTracing?.();
  }

  /** Validates the spec (every problem at once), then starts the action or attaches to it. */
  async start(spec: ActionSpecInput, options: StartOptions = {}): Promise<ActionHandle> {
    const parsed = parseActionSpec(spec);
    const actionId = options.actionId ?? `action-${randomUUID()}`;
    const idCheck = ActionId.safeParse(actionId);
    if (!idCheck.success) throw new InvalidSpecError([{ path: 'actionId', message: idCheck.error.issues[0]!.message }]);
    const input: RunActionInput = { spec };
    try {
      const handle = await this.client.workflow.start<typeof runAction>(WORKFLOW_TYPE, {
        workflowId: actionId,
        taskQueue: options.taskQueue ?? this.taskQueue,
        args: [input, options.fleet ?? {}],
        // A finished run with this id is not started again: the caller attaches to it instead.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: [
          { key: ActionStatusKey, value: 'PENDING' },
          { key: ActionImageKey, value: parsed.image },
          ...(parsed.source ? [{ key: ActionSourceKey, value: parsed.source }] : []),
          ...(parsed.template ? [{ key: ActionTemplateKey, value: parsed.template }] : []),
          ...labelAttributes(parsed),
        ],
        ...annotationsMemo(parsed),
        staticSummary:
          `${parsed.image}${parsed.command ? ` ${[...parsed.command, ...(parsed.args ?? [])].join(' ')}` : ''}`.slice(
            0,
            200,
          ),
      });
      return new ActionHandle(actionId, handle, true, this.logStore);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Same id, same spec: the caller attaches (a retried step, a second client). Same id with
      // another spec is a mistake worth saying, not a run to pretend was the caller's.
      const existing = await this.existingSpec(actionId);
      const differing = existing === undefined ? [] : differingFields(parsed, existing);
      if (differing.length) throw new ActionConflictError(actionId, differing);
      return this.attach(actionId, false);
    }
  }

  /** The spec an existing action was started with, from its first history event. */
  private async existingSpec(actionId: string): Promise<Action | undefined> {
    const history = await this.client.workflow.getHandle(actionId).fetchHistory();
    const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads?.length) return undefined;
    const input = await decodeFromPayloadsAtIndex<RunActionInput>(this.client.options.loadedDataConverter, 0, payloads);
    const checked = ActionSpec.safeParse(input?.spec);
    return checked.success ? checked.data : undefined;
  }

  /**
   * An array: N child actions of one spec (count, or one per item as its input), at most
   * `parallelism` at once; the result summarises every child. A sweep also names an `objective`
   * (the result's `best`), keeps `outputs`, and may stop early (`earlyStop`, `maxTrials`). Checked
   * first, every problem at once.
   */
  async startArray(spec: ActionSpecInput, array: ArrayOptionsInput, options: StartOptions = {}): Promise<ArrayHandle> {
    return startArray(this.client, options.taskQueue ?? this.taskQueue, spec, array, options);
  }

  /** A handle on an array started earlier. */
  attachArray(actionId: string): ArrayHandle {
    return new ArrayHandle(actionId, this.client.workflow.getHandle(actionId));
  }

  /** Actions on a schedule (Temporal Schedules), started on this client's task queue. */
  schedules(): ActionSchedules {
    return new ActionSchedules(this.client, this.taskQueue);
  }

  /** The fleet's templates (common/templates/templates.ts: CAISSON_TEMPLATES or CAISSON_ARTIFACTS_BUCKET), with this client's S3 access. */
  templates(env: NodeJS.ProcessEnv = process.env): TemplateStore {
    return templateStore(this.logStore, env);
  }

  /** Checks a definition, pins its image's tag to a digest (credentials of docker login), stores it as a new version. */
  async registerTemplate(definition: unknown, dockerConfigDir = process.env.DOCKER_CONFIG): Promise<StoredTemplate> {
    return registerTemplate(this.templates(), definition, dockerConfigDir);
  }

  /** A template by "name" (its latest version) or "name@version". */
  async template(ref: string): Promise<StoredTemplate> {
    return findTemplate(this.templates(), ref);
  }

  /** Runs a template: its input checked against inputSchema first (every problem, at its JSON pointer). */
  /** The spec a run of a template amounts to: its definition with the run's input and overrides, checked. */
  async templateSpec(ref: string, run: TemplateRun = {}): Promise<ActionSpecInput> {
    return specFromTemplate(await this.template(ref), run);
  }

  async startTemplate(ref: string, run: TemplateRun = {}, options: StartOptions = {}): Promise<ActionHandle> {
    return this.start(await this.templateSpec(ref, run), options);
  }

  attach(actionId: string, started = false): ActionHandle {
    return new ActionHandle(actionId, this.client.workflow.getHandle(actionId), started, this.logStore);
  }

  /** Actions matching a visibility query, newest first. */
  async list(
    filter: {
      status?: string;
      image?: string;
      template?: string;
      schedule?: string;
      /** Actions carrying every one of these labels. */
      labels?: Record<string, string>;
      since?: Date;
      limit?: number;
    } = {},
  ): Promise<ActionSummary[]> {
    const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
    if (filter.status) clauses.push(`ActionStatus = ${quoteValue(filter.status.toUpperCase())}`);
    if (filter.image) clauses.push(`ActionImage = ${quoteValue(filter.image)}`);
    if (filter.template) clauses.push(`ActionTemplate = ${quoteValue(filter.template)}`);
    if (filter.schedule) clauses.push(`ActionSchedule = ${quoteValue(filter.schedule)}`);
    if (filter.labels && Object.keys(filter.labels).length) clauses.push(labelsQuery(filter.labels));
    if (filter.since) clauses.push(`StartTime > ${quoteValue(filter.since.toISOString())}`);
    const out: ActionSummary[] = [];
    for await (const w of this.client.workflow.list({ query: clauses.join(' AND ') })) {
      const attrs = w.typedSearchAttributes;
      out.push({
        actionId: w.workflowId,
        runId: w.runId,
        status: attrs.get(ActionStatusKey) ?? w.status.name,
        image: attrs.get(ActionImageKey),
        template: attrs.get(ActionTemplateKey),
        host: attrs.get(ActionHostKey),
        exitCode: attrs.get(ActionExitCodeKey),
        ...labelsOf(attrs),
        startTime: w.startTime,
        closeTime: w.closeTime,
      });
      if (out.length >= (filter.limit ?? 50)) break;
    }
    return out;
  }
}

/** ActionHandle.download by the action's id, for callers that hold no handle. */
export function downloadArtifacts(
  client: ActionsClient,
  actionId: string,
  toDir: string,
  options: DownloadOptions = {},
): Promise<DownloadSummary> {
  return client.attach(actionId).download(toDir, options);
}
