// The inputs phase of an execute: secrets resolved, then what can be looked up while the image is
// made ready (the folder's owner, the inputs' objects, what earlier tries shipped of the log), each
// settled before the container is made.
import { secretsOf } from '../../spec/action.js';
import { resolveSecrets } from '../trust/secrets.js';
import { Redactor } from '../logs/redaction.js';
import { LogShipper } from '../logs/log-shipper.js';
import { inputUnavailable, resolveInputs, type InputObject } from '../inputs/inputs.js';
import { DEFAULT_LOG_SIZE } from '../container/log-limits.js';
import { folderOwner, folderTaken } from './gate.js';
import type { ExecuteContext } from './context.js';

export interface Lookups {
  secrets: Record<string, string>;
  /** Masks the secrets in every output of the run. */
  redactor: Redactor;
  /** The run that owns the action's folder, when another does. */
  owner: Promise<string | undefined>;
  inputs: Promise<InputObject[]>;
  log: Promise<LogShipper>;
}

export async function startLookups(ctx: ExecuteContext): Promise<Lookups> {
  const { deps, req, store } = ctx;
  // Resolved before anything else: a missing secret fails before the pull, and the values are
  // known to mask them in every output of the run.
  const secrets = await resolveSecrets(secretsOf(req.spec), deps.run.secretsDir, deps.run.env, deps.host);
  const redactor = new Redactor(Object.values(secrets));
  // Inputs are looked up while the image is made ready: a missing one fails before any container.
  if (req.spec.inputs.length && !deps.run.inputCache) {
    throw inputUnavailable(
      `host ${deps.host} cannot stage inputs: it has no container disks (the worker needs root and a local engine)`,
    );
  }
  // The action's folder belongs to the run that stored a result there first: a later run under
  // the same id (a start with AllowDuplicate) must not overwrite its out/ and result.json.
  const owner = folderOwner(store, ctx.resultKey, req.runId);
  owner.catch(() => {}); // awaited by settleLookups, before the container
  const inputs = req.spec.inputs.length
    ? resolveInputs(store.s3, req.spec, store, deps.run.diskBytes(req.spec))
    : Promise.resolve([]);
  inputs.catch(() => {}); // awaited by settleLookups, before the container
  // What earlier tries shipped of this attempt's log is looked up while the image is made ready.
  const log = LogShipper.open(
    store.s3,
    store.bucket,
    ctx.livePrefix,
    req.attempt,
    req.spec.resources.logSize ?? DEFAULT_LOG_SIZE,
  );
  log.catch(() => {}); // awaited by runContainer
  return { secrets, redactor, owner, inputs, log };
}

/** The inputs' objects, once the folder is known to be this run's. */
export async function settleLookups(ctx: ExecuteContext, lookups: Lookups): Promise<InputObject[]> {
  const earlierRun = await lookups.owner;
  if (earlierRun) throw folderTaken(ctx.deps.host, ctx.req.actionId, earlierRun);
  return lookups.inputs;
}
