// The pure rules behind faults ending well: fleet options held to their bounds, the real error
// words in a result, which S3 answers end an action, and slots a reconcile must not claim again.
import { describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { artifactsUnavailable, isBucketRefusal } from '../../activities/store/artifact-store.js';
import { HostCapacity } from '../../activities/placement/capacity.js';
import { checkActionSpec } from '../../spec/action.js';
import { describeOutcome, runsAgain } from '../../spec/result.js';
import { FLEET_DEFAULTS, fleetSettings } from '../../spec/workflow-api.js';
import { failureMessage, finalReason, hostLost } from '../../workflows/failures.js';

describe('fleet options from the starter', () => {
  it('are clamped: a negative stop grace cannot turn the kill off, nor a huge one postpone it for ever', () => {
    expect(fleetSettings({ stopGraceSeconds: -1 }).stopGraceSeconds).toBe(0);
    expect(fleetSettings({ stopGraceSeconds: 1e9 }).stopGraceSeconds).toBe(300);
    expect(fleetSettings({ hostTimeoutSeconds: 0, maxPlacements: 1000 })).toMatchObject({
      hostTimeoutSeconds: 5,
      maxPlacements: 10,
    });
  });

  it('that are not finite numbers take the defaults', () => {
    const odd = {
      stopGraceSeconds: Number.NaN,
      hostTimeoutSeconds: Infinity,
      maxPlacements: '3',
    } as unknown as Parameters<typeof fleetSettings>[0];
    expect(fleetSettings(odd)).toEqual(FLEET_DEFAULTS);
    expect(fleetSettings(undefined)).toEqual(FLEET_DEFAULTS);
    expect(fleetSettings({ stopGraceSeconds: 20 }).stopGraceSeconds).toBe(20);
  });
});

describe('a host to leave', () => {
  const failed = (cause: Error) =>
    new ActivityFailure('Activity task failed', 'execute', '1', RetryState.NON_RETRYABLE_FAILURE, 'w', cause);
  it('is one whose engine stayed away, and not one whose activity failed otherwise', () => {
    expect(
      hostLost(failed(ApplicationFailure.create({ type: 'EngineUnavailable', nonRetryable: true, message: 'away' }))),
    ).toBe(true);
    expect(
      hostLost(failed(ApplicationFailure.create({ type: 'ImageNotFound', nonRetryable: true, message: 'gone' }))),
    ).toBe(false);
    expect(hostLost(failed(ApplicationFailure.create({ message: 'engine unreachable' })))).toBe(false);
    expect(hostLost(ApplicationFailure.create({ type: 'EngineUnavailable', message: 'not from an activity' }))).toBe(
      false,
    );
  });
});

describe('the words of a failure that ends an action', () => {
  it('are the activity\'s own error, not "Activity task failed"', () => {
    const cause = ApplicationFailure.create({ message: 'engine unreachable at unix:///run/docker.sock' });
    const failure = new ActivityFailure(
      'Activity task failed',
      'execute',
      '1',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'w',
      cause,
    );
    expect(failureMessage(failure)).toBe('execute: engine unreachable at unix:///run/docker.sock');
    expect(failureMessage(new Error('plain'))).toBe('plain');
  });

  it('map refused containers and unwritable buckets to reasons of their own', () => {
    const refused = ApplicationFailure.create({
      type: 'ContainerRefused',
      nonRetryable: true,
      message: 'Range of CPUs…',
    });
    const wrapped = new ActivityFailure(
      'Activity task failed',
      'execute',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      refused,
    );
    expect(finalReason(wrapped)).toEqual({ reason: 'container-refused', message: 'Range of CPUs…' });
    const bucket = artifactsUnavailable(
      'gone',
      Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' }),
    )!;
    const wrappedBucket = new ActivityFailure(
      'Activity task failed',
      'execute',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'w',
      bucket,
    );
    expect(finalReason(wrappedBucket)?.reason).toBe('artifacts-unavailable');
    expect(bucket.message).toContain('create it, or name another one in artifacts.bucket');
  });
});

describe('S3 answers', () => {
  it('that no wait will change end the action; an outage does not', () => {
    for (const name of ['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId'])
      expect(isBucketRefusal(Object.assign(new Error(name), { name }))).toBe(true);
    for (const name of ['ServiceUnavailable', 'SlowDown', 'InternalError', 'TimeoutError'])
      expect(isBucketRefusal(Object.assign(new Error(name), { name }))).toBe(false);
    expect(
      artifactsUnavailable('b', Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
  });
});

describe('outcomes', () => {
  it('hint at OOM only when the engine said so; an engine restart is a reason a retry may name', () => {
    expect(describeOutcome(137, 'exit')).toBe('exited 137: killed (SIGKILL)');
    expect(describeOutcome(137, 'oom')).toContain('more memory than its limit');
    const retry = { attempts: 3, onExitCodes: [], onReasons: ['engine-restarted'] };
    expect(runsAgain(retry, 1, { reason: 'engine-restarted', exitCode: 143 })).toBe(true);
    expect(runsAgain({ ...retry, onReasons: [] }, 1, { reason: 'engine-restarted', exitCode: 143 })).toBe(false);
  });
});

describe('artifact prefixes', () => {
  it('refuse parts S3 servers refuse, and keep ordinary ones', () => {
    for (const prefix of ['team/./x', 'a//b', '../x', 'x/..']) {
      const parsed = checkActionSpec({ image: 'r.example/i:1', artifacts: { prefix } });
      expect(parsed.success, prefix).toBe(false);
    }
    for (const prefix of ['team/x', '/team/x/', 'a.b/c_d', '']) {
      expect(checkActionSpec({ image: 'r.example/i:1', artifacts: { prefix } }).success, prefix).toBe(true);
    }
  });
});

describe('slots and reconcile', () => {
  it('a run released after a reconcile listed its container is not claimed again by that listing', () => {
    let now = 0;
    const capacity = new HostCapacity(2, () => now);
    capacity.claim('run-a');
    capacity.release('run-a'); // its execute returned; its container is being removed
    capacity.seed(['run-a', 'run-b']); // a listing taken a moment before
    expect(capacity.has('run-a')).toBe(false);
    expect(capacity.has('run-b')).toBe(true);
    now += 10 * 60_000; // long after: a container of that run still running is counted again
    capacity.seed(['run-a']);
    expect(capacity.has('run-a')).toBe(true);
  });
});
