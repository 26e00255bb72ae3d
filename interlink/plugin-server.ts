// interLink's plugin API on top of Caisson actions: POST /create starts one action per container
// of the pod, GET /status reports them as container statuses, GET /getLogs reads the live-log
// store, POST /delete cancels them (the host stops the container and cleans up). Bodies are JSON,
// also on GET, as interLink sends them. Pod uid and container name decide the action ids, so the
// plugin keeps nothing: restarted, it answers for every pod it ever created.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ActionConflictError, InvalidSpecError, type ActionsClient } from '../client/index.js';
import { checkActionSpec, specProblems, type SpecProblem } from '../spec/action.js';
import { bearerAuthorized, readBody } from '../common/connection/http-request.js';
import { actionState } from './action-state.js';
import { containerStatus, podStatus } from './container-status.js';
import { actionIdFor, containerNames, podActions, podJobId, podUid } from './pod-actions.js';
import { logPlan, writeLog } from './pod-logs.js';
import {
  CreateRequest,
  LogRequest,
  PodRequest,
  RequestProblems,
  StatusRequest,
  parseBody,
  type ValidationProblem,
} from './requests.js';

/** A pod with its volume data fits easily; more is refused unread. */
const MAX_BODY_BYTES = 8 << 20;
/** Temporal calls at once for one status request. */
const STATUS_CONCURRENCY = 16;

export interface PluginOptions {
  client: ActionsClient;
  /** When set, every call must carry "Authorization: Bearer <token>". */
  token?: string;
  /** Put before each pod uid in its action ids (default "pod-"). */
  idPrefix?: string;
  /** Where errors the caller cannot act on are written (message only, never a stack). */
  log?: (line: string) => void;
}

const ROUTES: Record<string, string> = { '/create': 'POST', '/delete': 'POST', '/status': 'GET', '/getLogs': 'GET' };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));

const problems = (res: ServerResponse, detail: ValidationProblem[]) => json(res, 422, { detail });

/** Temporal down or overloaded: worth a retry, unlike a fault of this plugin. */
function unavailable(err: unknown): boolean {
  const e = err as { code?: number; name?: string; cause?: { code?: number } };
  return e?.code === 14 || e?.cause?.code === 14 || e?.name === 'ServiceError';
}

export function createInterlinkPlugin(options: PluginOptions): Server {
  const { client } = options;
  const prefix = options.idPrefix ?? 'pod-';
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));

  async function jsonBody(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req, MAX_BODY_BYTES);
    if (text === undefined) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES >> 20} MiB`);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new RequestProblems([
        { loc: ['body'], msg: `the body is not JSON: ${(err as Error).message}`, type: 'json_invalid' },
      ]);
    }
  }

  async function create(req: IncomingMessage, res: ServerResponse) {
    const request = parseBody(CreateRequest, await jsonBody(req));
    const actions = podActions(request, prefix);
    const uid = podUid(request.pod, ['body', 'pod']);
    const where = (container: string) => [
      'body',
      'pod',
      'spec',
      'containers',
      containerNames(request.pod).indexOf(container),
    ];
    const asProblems = (container: string, found: SpecProblem[]): ValidationProblem[] =>
      found.map((p) => ({
        loc: [...where(container), ...p.path.split('.').filter(Boolean)],
        msg: p.message,
        type: 'value_error',
      }));
    // Every container's spec is checked before any action starts: a pod runs whole or not at all,
    // and the answer lists the problems of all its containers at once.
    const refused = actions.flatMap((action) => {
      const checked = checkActionSpec(action.spec);
      return checked.success ? [] : asProblems(action.container, specProblems(checked.error));
    });
    if (refused.length) throw new RequestProblems(refused);
    await mapLimited(actions, STATUS_CONCURRENCY, async (action) => {
      try {
        await client.start(action.spec, { actionId: action.actionId, fleet: action.fleet });
      } catch (err) {
        // The id and the start options are checked here, not above: still this request's fault.
        if (err instanceof InvalidSpecError) throw new RequestProblems(asProblems(action.container, err.problems));
        if (err instanceof ActionConflictError) {
          throw new RequestProblems([
            {
              loc: ['body', 'pod', 'metadata', 'uid'],
              msg: `a pod with this uid was created before with a different ${action.container} container (${err.fields.join(', ')} differ)`,
              type: 'value_error',
            },
          ]);
        }
        throw err;
      }
    });
    const jobId = podJobId(prefix, uid);
    json(res, 200, { pod_uid: uid, pod_jid: jobId, PodUID: uid, PodJID: jobId });
  }

  async function status(req: IncomingMessage, res: ServerResponse) {
    const pods = parseBody(StatusRequest, await jsonBody(req));
    const uids = pods.map((pod, i) => podUid(pod, ['body', i]));
    const statuses = await mapLimited(pods, STATUS_CONCURRENCY, async (pod, index) => {
      const uid = uids[index]!;
      const containers = await mapLimited(containerNames(pod), 4, async (name) =>
        containerStatus(name, await actionState(client, actionIdFor(prefix, uid, name))),
      );
      return podStatus(
        { name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', uid, jobId: podJobId(prefix, uid) },
        containers,
      );
    });
    json(res, 200, statuses);
  }

  async function remove(req: IncomingMessage, res: ServerResponse) {
    const pod = parseBody(PodRequest, await jsonBody(req));
    const uid = podUid(pod, ['body']);
    let canceled = 0;
    await mapLimited(containerNames(pod), 4, async (name) => {
      const state = await actionState(client, actionIdFor(prefix, uid, name));
      if (!state.found || !['PENDING', 'PULLING', 'RUNNING', 'COLLECTING'].includes(state.phase ?? '')) return;
      await client.attach(actionIdFor(prefix, uid, name)).cancel();
      canceled++;
    });
    json(res, 200, `pod ${uid}: ${canceled} running container(s) cancelled; their hosts stop them and clean up`);
  }

  async function logs(req: IncomingMessage, res: ServerResponse) {
    const request = parseBody(LogRequest, await jsonBody(req));
    if (!client.logStore)
      throw new HttpError(
        503,
        'this plugin has no access to the artifacts bucket, where logs are kept: start it with the AWS variables set',
      );
    const actionId = actionIdFor(prefix, request.pod_uid, request.container_name);
    const state = await actionState(client, actionId);
    if (!state.found) {
      // 422, not 404: interLink's spec documents 200 and 422 only, and its server passes the code on.
      throw new RequestProblems([
        {
          loc: ['body', 'pod_uid'],
          msg: `no container "${request.container_name}" of a pod with this uid was created through this plugin`,
          type: 'value_error',
        },
      ]);
    }
    const handle = client.attach(actionId);
    const plan = await logPlan(request, handle);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    const write = (chunk: Buffer) =>
      new Promise<void>((resolve) => (res.write(chunk) ? resolve() : res.once('drain', resolve)));
    try {
      await writeLog(handle, plan, write, abort.signal);
    } catch (err) {
      if (!abort.signal.aborted) log(`interlink-plugin: the log of ${actionId} broke off: ${(err as Error).message}`);
    }
    res.end();
  }

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    '/create': create,
    '/status': status,
    '/delete': remove,
    '/getLogs': logs,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    const method = ROUTES[path];
    if (!method)
      return json(res, 404, {
        detail: `no such endpoint: ${path.slice(0, 100)}; the plugin API is ${Object.keys(ROUTES).join(', ')}`,
      });
    if (req.method !== method)
      return res
        .writeHead(405, { Allow: method, 'Content-Type': 'application/json' })
        .end(JSON.stringify({ detail: `${path} takes ${method}` }));
    if (!bearerAuthorized(req, options.token))
      return json(res, 401, { detail: 'a bearer token is required: Authorization: Bearer <token>' });
    try {
      await handlers[path]!(req, res);
    } catch (err) {
      if (res.headersSent) return void res.end();
      if (err instanceof RequestProblems) return problems(res, err.problems);
      if (err instanceof HttpError) return json(res, err.status, { detail: err.message });
      log(`interlink-plugin: ${req.method} ${path}: ${(err as Error).message}`);
      if (unavailable(err)) return json(res, 503, { detail: 'Temporal did not answer; try again' });
      return json(res, 500, { detail: 'internal error; the plugin log says more' });
    }
  };

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}
