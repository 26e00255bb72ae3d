// The one entry of the bundle: GitHub runs dist/index.js as `main` and again as `post` (action.yml).
// Main leaves a flag in the step state; finding it, the second run is post
// (the pattern of actions/typescript-action and docker/build-push-action).
import * as core from '@actions/core';
import { run } from './main.js';
import { post } from './post.js';
import { STATE } from './state.js';

const isPost = !!core.getState(STATE.isPost);
if (!isPost) core.saveState(STATE.isPost, 'true');
// run and post report every failure through core.setFailed themselves; this is only a last guard.
await (isPost ? post() : run()).catch((err: unknown) =>
  core.setFailed(`caisson: ${err instanceof Error ? err.message : String(err)}`),
);
