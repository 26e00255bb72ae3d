// The routes of interLink's plugin API, each a handler of its own: POST /create, GET /status,
// GET /getLogs, POST /delete. A handler throws RequestProblems or HttpError for what the caller
// must fix; plugin-server.ts turns those into answers and guards everything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ActionConflictError, InvalidSpecError, type ActionsClient } from '../client/index.js';
import { checkActionSpec, specProblems, type SpecProblem } from '../spec/action.js';
import { readBody } from '../common/connection/http-request.js';
import { actionState } from './action-state.js';
import { containerStatus, memberState, podStatus } from './container-status.js';
import { actionIdFor, podAction, podActionId, podJobId, podUid } from './pod-actions.js';
import { containerLoc, FIRST_CONTAINER_ANNOTATION, memberName } from './pod-members.js';
import { logPlan, writeLog, writeStoredLog } from './pod-logs.js';
import { MAIN_CONTAINER } from '../spec/containers.js';
import {
  CreateRequest,
  LogRequest,
  PodRequest,
  RequestProblems,
  StatusRequest,
  parseBody,
  type ValidationProblem,
} from './requests.js';

/** The phases of an action that has ended, whose containers' logs are stored. */
const ENDED = ['DONE', 'FAILED', 'CANCELED'];
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
  const { pod } = request;
  const action = podAction(request, prefix);
  const uid = podUid(pod, ['body', 'pod']);
  // A problem of the spec's `containers.<name>` is the pod container of that name; any other is the first's.
  const names = [...pod.spec.containers, ...(pod.spec.init_containers ?? [])].map((c) => c.name);
  const asProblems = (found: SpecProblem[]): ValidationProblem[] =>
    found.map((p) => {
      const [field, member, ...rest] = p.path.split('.').filter(Boolean);
      const index = field === 'containers' && member ? names.indexOf(member) : -1;
      const path = index > 0 ? rest : p.path.split('.').filter(Boolean);
      return {
        loc: ['body', 'pod', ...containerLoc(pod, Math.max(index, 0)), ...path],
        msg: p.message,
        type: 'value_error',
      };
    });
  // The whole pod is checked before its action starts: the answer lists every problem at once.
  const checked = checkActionSpec(action.spec);
  if (!checked.success) throw new RequestProblems(asProblems(specProblems(checked.error)));
  try {
    await client.start(action.spec, { actionId: action.actionId, fleet: action.fleet });
  } catch (err) {
    // The id and the start options are checked here, not above: still this request's fault.
    if (err instanceof InvalidSpecError) throw new RequestProblems(asProblems(err.problems));
    if (err instanceof ActionConflictError) {
      throw new RequestProblems([
        {
          loc: ['body', 'pod', 'metadata', 'uid'],
          msg: `a pod with this uid was created before with other containers (${err.fields.join(', ')} differ)`,
          type: 'value_error',
        },
      ]);
    }
    throw err;
  }
  const jobId = podJobId(prefix, uid);
  json(res, 200, { pod_uid: uid, pod_jid: jobId, PodUID: uid, PodJID: jobId });
}

async function status({ client, prefix }: RouteContext, req: IncomingMessage, res: ServerResponse) {
  const pods = parseBody(StatusRequest, await jsonBody(req));
  const uids = pods.map((pod, i) => podUid(pod, ['body', i]));
  const statuses = await mapLimited(pods, STATUS_CONCURRENCY, async (pod, index) => {
    const uid = uids[index]!;
    const state = await actionState(client, podActionId(prefix, uid, pod));
    const of = (containers: { name: string }[]) =>
      containers.map(({ name }) => containerStatus(name, memberState(state, memberName(pod, name))));
    return podStatus(
      { name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', uid, jobId: podJobId(prefix, uid) },
      of(pod.spec.containers),
      of(pod.spec.init_containers ?? []),
    );
  });
  json(res, 200, statuses);
}

async function remove({ client, prefix }: RouteContext, req: IncomingMessage, res: ServerResponse) {
  const pod = parseBody(PodRequest, await jsonBody(req));
  const uid = podUid(pod, ['body']);
  const actionId = podActionId(prefix, uid, pod);
  const state = await actionState(client, actionId);
  const running = state.found && ['PENDING', 'PULLING', 'RUNNING', 'COLLECTING'].includes(state.phase ?? '');
  if (running) await client.attach(actionId).cancel();
  const count = running ? pod.spec.containers.length : 0;
  json(res, 200, `pod ${uid}: ${count} running container(s) cancelled; their hosts stop them and clean up`);
}

/**
 * The action a log request names and the container's name in it: a pod of several's action when
 * there is one (its first container is "main", named by an annotation), else the lone container's.
 */
async function logSource(client: ActionsClient, prefix: string, request: LogRequest) {
  const podId = podJobId(prefix, request.pod_uid);
  const pod = await actionState(client, podId);
  if (pod.found) {
    const first = (await client.attach(podId).metadata()).annotations?.[FIRST_CONTAINER_ANNOTATION];
    const member = first === request.container_name ? MAIN_CONTAINER : request.container_name;
    return { actionId: podId, member, ended: ENDED.includes(pod.phase ?? '') };
  }
  const actionId = actionIdFor(prefix, request.pod_uid, request.container_name);
  return (await actionState(client, actionId)).found ? { actionId, member: MAIN_CONTAINER, ended: false } : undefined;
}

async function logs({ client, prefix, log }: RouteContext, req: IncomingMessage, res: ServerResponse) {
  const request = parseBody(LogRequest, await jsonBody(req));
  if (!client.logStore)
    throw new HttpError(
      503,
      'this plugin has no access to the artifacts bucket, where logs are kept: start it with the AWS variables set',
    );
  const source = await logSource(client, prefix, request);
  if (!source) {
    // 422, not 404: interLink's spec documents 200 and 422 only, and its server passes the code on.
    throw new RequestProblems([
      {
        loc: ['body', 'pod_uid'],
        msg: `no container "${request.container_name}" of a pod with this uid was created through this plugin`,
        type: 'value_error',
      },
    ]);
  }
  const handle = client.attach(source.actionId);
  const plan = source.member === MAIN_CONTAINER ? await logPlan(request, handle) : undefined;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve) => (res.write(chunk) ? resolve() : res.once('drain', resolve)));
  try {
    if (plan) await writeLog(handle, plan, write, abort.signal);
    // A container beside the first has no live log: nothing until it is stored, unless followed.
    else if (source.ended || request.opts.follow)
      await writeStoredLog(handle, source.member, request.opts.limit_bytes ?? undefined, write, abort.signal);
  } catch (err) {
    if (!abort.signal.aborted)
      log(`interlink-plugin: the log of ${source.actionId} (${source.member}) broke off: ${(err as Error).message}`);
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
