// The status rules of an action (spec/result.ts): which phase follows which, what status a result
// has for how its run ended, and how the workflow restates a host's result after a cancel or the
// deadline.
import { describe, expect, it } from 'vitest';
import {
  deadlineEnding,
  EndReasonSchema,
  isFinal,
  phaseAfter,
  restatedResult,
  resultStatus,
  type ActionResult,
  type ActionStatus,
  type Phase,
} from '../../spec/result.js';

const FINAL: ActionStatus[] = ['DONE', 'FAILED', 'CANCELED'];
const UNDER_WAY: Phase[] = ['PENDING', 'PULLING', 'RUNNING', 'COLLECTING'];

function hostResult(status: ActionStatus, exitCode: number | null, reason: ActionResult['reason']): ActionResult {
  return {
    actionId: 'a',
    runId: 'r',
    status,
    exitCode,
    reason,
    message: 'as the host said',
    image: 'alpine',
    attempts: 1,
    timings: [],
    artifacts: [],
    artifactTotals: { files: 0, bytes: 0 },
    skipped: [],
    logTail: ['last line'],
    resultUri: 's3://bucket/a/result.json',
    startedAt: 't0',
    finishedAt: 't1',
  };
}

describe('phases', () => {
  it('DONE, FAILED and CANCELED are final; the others are under way', () => {
    for (const phase of FINAL) expect(isFinal(phase)).toBe(true);
    for (const phase of UNDER_WAY) expect(isFinal(phase)).toBe(false);
  });

  it('placed it runs, a silent host sends it back to waiting, and it ends with its result status', () => {
    expect(phaseAfter('PENDING', { kind: 'placed' })).toBe('RUNNING');
    expect(phaseAfter('RUNNING', { kind: 'host-lost' })).toBe('PENDING');
    expect(phaseAfter('COLLECTING', { kind: 'host-lost' })).toBe('PENDING');
    for (const phase of UNDER_WAY)
      for (const status of FINAL) expect(phaseAfter(phase, { kind: 'ended', status })).toBe(status);
  });

  it('nothing follows a final phase', () => {
    for (const phase of FINAL) {
      expect(phaseAfter(phase, { kind: 'placed' })).toBe(phase);
      expect(phaseAfter(phase, { kind: 'host-lost' })).toBe(phase);
      expect(phaseAfter(phase, { kind: 'ended', status: phase === 'DONE' ? 'FAILED' : 'DONE' })).toBe(phase);
    }
  });
});

describe('the status of a result', () => {
  const plain = { canceled: false, endedEarly: false };

  it('is DONE only for a plain exit 0', () => {
    expect(resultStatus({ ...plain, reason: 'exit', exitCode: 0 })).toBe('DONE');
    expect(resultStatus({ ...plain, reason: 'exit', exitCode: 1 })).toBe('FAILED');
    expect(resultStatus({ ...plain, reason: 'exit', exitCode: null })).toBe('FAILED');
  });

  it('is FAILED for every other reason, whatever the exit code', () => {
    for (const reason of EndReasonSchema.options.filter((r) => r !== 'exit'))
      expect(resultStatus({ ...plain, reason, exitCode: 0 })).toBe('FAILED');
  });

  it('is FAILED for an exit 0 when something ended the run early', () => {
    expect(resultStatus({ canceled: false, endedEarly: true, reason: 'exit', exitCode: 0 })).toBe('FAILED');
  });

  it('is CANCELED once a cancel reached the run, whatever else happened', () => {
    expect(resultStatus({ canceled: true, endedEarly: false, reason: 'exit', exitCode: 0 })).toBe('CANCELED');
    expect(resultStatus({ canceled: true, endedEarly: true, reason: 'no-host', exitCode: null })).toBe('CANCELED');
  });
});

describe('the deadline ending', () => {
  it('says whether the container had run, and the deadline in words', () => {
    expect(deadlineEnding(143, 90_000)).toEqual({
      reason: 'deadline',
      message: 'its deadline (1m30s) passed; the container was stopped and its output collected',
    });
    expect(deadlineEnding(null, 90_000).message).toBe('its deadline (1m30s) passed before it ran');
  });
});

describe("the host's result, restated", () => {
  const nothingSeen = { canceled: false, deadlinePassed: false, deadline: 90_000 };

  it('stands when the workflow saw no cancel and no deadline', () => {
    for (const status of FINAL) expect(restatedResult(hostResult(status, 0, 'exit'), nothingSeen)).toBeUndefined();
  });

  it('ends FAILED ("deadline") when the host stopped the container at the deadline', () => {
    const stopped = hostResult('CANCELED', 143, 'canceled');
    const restated = restatedResult(stopped, { ...nothingSeen, deadlinePassed: true });
    expect(restated).toEqual({ ...stopped, status: 'FAILED', ...deadlineEnding(143, 90_000) });
    expect(stopped.status).toBe('CANCELED');
  });

  it('stands when the deadline passed after the container had ended on its own', () => {
    const done = hostResult('DONE', 0, 'exit');
    expect(restatedResult(done, { ...nothingSeen, deadlinePassed: true })).toBeUndefined();
  });

  it('ends CANCELED when the cancel reached the host after its container had ended', () => {
    const done = hostResult('DONE', 0, 'exit');
    expect(restatedResult(done, { ...nothingSeen, canceled: true })).toEqual({
      ...done,
      status: 'CANCELED',
      reason: 'canceled',
      message: 'canceled; the container was stopped and its output collected',
    });
  });

  it('stands when the host ended it CANCELED for a cancel', () => {
    const canceled = hostResult('CANCELED', 143, 'canceled');
    expect(restatedResult(canceled, { ...nothingSeen, canceled: true })).toBeUndefined();
    expect(restatedResult(canceled, { ...nothingSeen, canceled: true, deadlinePassed: true })).toBeUndefined();
  });
});
