// interLink's plugin API on top of Caisson actions: POST /create starts one action per container
// of the pod, GET /status reports them as container statuses, GET /getLogs reads the live-log
// store, POST /delete cancels them (the host stops the container and cleans up). Bodies are JSON,
// also on GET, as interLink sends them. Pod uid and container name decide the action ids, so the
// plugin keeps nothing: restarted, it answers for every pod it ever created. This module is the
// server (dispatch, the bearer check, errors as answers); the routes are in plugin-routes.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ActionsClient } from '../client/index.js';
import { bearerAuthorized } from '../common/connection/http-request.js';
import { HttpError, ROUTES, json, type RouteContext } from './plugin-routes.js';
import { RequestProblems, type ValidationProblem } from './requests.js';

export interface PluginOptions {
  client: ActionsClient;
  /** When set, every call must carry "Authorization: Bearer <token>". */
  token?: string;
  /** Put before each pod uid in its action ids (default "pod-"). */
  idPrefix?: string;
  /** Where errors the caller cannot act on are written (message only, never a stack). */
  log?: (line: string) => void;
}

const problems = (res: ServerResponse, detail: ValidationProblem[]) => json(res, 422, { detail });

/** Temporal down or overloaded: worth a retry, unlike a fault of this plugin. */
function unavailable(err: unknown): boolean {
  const e = err as { code?: number; name?: string; cause?: { code?: number } };
  return e?.code === 14 || e?.cause?.code === 14 || e?.name === 'ServiceError';
}

export function createInterlinkPlugin(options: PluginOptions): Server {
  const ctx: RouteContext = {
    client: options.client,
    prefix: options.idPrefix ?? 'pod-',
    log: options.log ?? ((line: string) => process.stderr.write(line + '\n')),
  };
  const { log } = ctx;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route)
      return json(res, 404, {
        detail: `no such endpoint: ${path.slice(0, 100)}; the plugin API is ${Object.keys(ROUTES).join(', ')}`,
      });
    const { method } = route;
    if (req.method !== method)
      return res
        .writeHead(405, { Allow: method, 'Content-Type': 'application/json' })
        .end(JSON.stringify({ detail: `${path} takes ${method}` }));
    if (!bearerAuthorized(req, options.token))
      return json(res, 401, { detail: 'a bearer token is required: Authorization: Bearer <token>' });
    try {
      await route.handle(ctx, req, res);
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
