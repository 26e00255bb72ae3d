// What /healthz and /readyz answer (worker/readiness.ts), on a clock of the test's own.
import { afterEach, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import type { Worker } from '@temporalio/worker';
import type { HostCapacity } from '../../activities/placement/capacity.js';
import { Readiness } from '../../worker/readiness.js';

let clock = 1_000_000;
const now = () => clock;
let readiness: Readiness;
afterEach(() => readiness?.stop());

function served(states: string[], drained?: string) {
  readiness = new Readiness(now);
  readiness.serve({
    workers: states.map((state) => ({ getState: () => state }) as unknown as Worker),
    capacity: { drained } as HostCapacity,
    docker: { ping: () => Promise.resolve() } as unknown as Docker,
  });
  return readiness;
}

describe('Readiness', () => {
  it('is alive but not ready before the workers are served', () => {
    readiness = new Readiness(now);
    expect(readiness.live()).toEqual({ ok: true, reasons: [] });
    expect(readiness.ready()).toEqual({ ok: false, reasons: ['starting: the workers do not poll yet'] });
  });

  it('is ready while every worker runs, the engine answered lately and the host is not drained', () => {
    expect(served(['RUNNING', 'RUNNING']).ready()).toEqual({ ok: true, reasons: [] });
  });

  it('names each reason it is not ready', () => {
    const verdict = served(['RUNNING', 'DRAINING'], 'by the operator: disk swap').ready();
    expect(verdict.ok).toBe(false);
    expect(verdict.reasons).toEqual(['Temporal workers not polling (DRAINING)', 'drained: by the operator: disk swap']);
  });

  it('stops being ready when the engine has not answered for 30 s, and alive when the loop is held', () => {
    const r = served(['RUNNING']);
    clock += 31_000;
    expect(r.engineAnswering()).toBe(false);
    expect(r.ready().reasons).toContain('the container engine has not answered for 30 s');
    expect(r.live()).toEqual({ ok: false, reasons: ['the event loop was held for 30 s'] });
  });
});
