// The routes of interLink's plugin API, each a handler of its own: POST /create, GET /status,
// GET /getLogs, POST /delete. A handler throws RequestProblems or HttpError for what the caller
// must fix; plugin-server.ts turns those into answers and guards everything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ActionConflictError, InvalidSpecError, type ActionsClient } from '../client/index.js';
import { checkActionSpec, specProblems, type SpecProblem } from '../spec/action.js';
import { readBody } from '../common/connection/http-request.js';
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

/** What every route works with: the client, the prefix of the action ids, the plugin's log. */
export interface RouteContext {
  client: ActionsClient;
  prefix: string;
  log: (line: string) => void;
}

/** An answer other than 422 (body too large, no log store): its status and detail. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));

/** At most `limit` calls at once, so that one request with many pods cannot flood Temporal. */
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

async function create({ client, prefix }: RouteContext, req: IncomingMessage, res: ServerResponse) {
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

async function status({ client, prefix }: RouteContext, req: IncomingMessage, res: ServerResponse) {
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

async function remove({ client, prefix }: RouteContext, req: IncomingMessage, res: ServerResponse) {
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

async function logs({ client, prefix, log }: RouteContext, req: IncomingMessage, res: ServerResponse) {
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

/** Each path of the API: the method it takes and its handler (in the order the API lists them). */
export const ROUTES: Record<
  string,
  { method: 'GET' | 'POST'; handle: (ctx: RouteContext, req: IncomingMessage, res: ServerResponse) => Promise<void> }
> = {
  '/create': { method: 'POST', handle: create },
  '/delete': { method: 'POST', handle: remove },
  '/status': { method: 'GET', handle: status },
  '/getLogs': { method: 'GET', handle: logs },
};
