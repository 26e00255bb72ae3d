// Starting actions against the suite's worker, and checking that nothing is left on the host.
import { inject } from 'vitest';
import { ActionsClient, type ActionSpecInput } from '../../client/index.js';
import { temporalSettingsFromEnv } from '../../common/temporal-connection.js';
import { LABEL } from '../../activities/labels.js';
import { docker } from './env.js';

export async function connectClient(taskQueue = inject('taskQueue')): Promise<ActionsClient> {
  return ActionsClient.connect(temporalSettingsFromEnv(), taskQueue);
}

export function busybox(script: string, extra: Partial<ActionSpecInput> = {}): ActionSpecInput {
  return { image: process.env.TEST_IMAGE_BUSYBOX!, command: ['sh', '-c', script], timeout: '60s', ...extra };
}

/** Containers of ours still on the engine, and volumes no container uses. */
export async function leftovers(): Promise<{ containers: string[]; volumes: string[] }> {
  const engine = docker();
  const containers = await engine.listContainers({ all: true, filters: { label: [LABEL.actionId] } });
  const { Volumes } = await engine.listVolumes({ filters: { dangling: ['true'] } });
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), volumes: (Volumes ?? []).map((v) => v.Name) };
}
