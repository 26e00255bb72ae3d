// Several containers as one action (spec.containers) on the real stack: a sidecar serves on the
// main container's loopback, an init container prepares the shared /tmp_disk, a failing init
// container ends the action before the main one starts, and sidecars are stopped once it ends.
import { describe, expect, it } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import { busybox, useSuiteWorker } from '../support/actions.js';
import { engineEvents } from '../support/engine-events.js';
import { docker, objectText, s3 } from '../support/env.js';

const suite = useSuiteWorker();
const image = process.env.TEST_IMAGE_BUSYBOX!;
const sh = (script: string) => ({ image, command: ['sh', '-c', script] });

describe('containers of one action', () => {
  it("the main container reads a sidecar's server on localhost; the sidecars are stopped once it ends", async () => {
    const started = Date.now();
    const result = await (
      await suite.client().start(
        busybox(
          // The server may not listen yet, nor the idle sidecar run: a bounded number of tries.
          'for i in $(seq 1 50); do [ -e /tmp_disk/idle ] && wget -q -O /out/answer.txt http://127.0.0.1:8080/answer && exit 0; usleep 200000; done; exit 1',
          {
            containers: {
              web: sh(
                'mkdir -p /tmp/www && echo 42 > /tmp/www/answer && echo serving && trap "exit 143" TERM; httpd -f -p 127.0.0.1:8080 -h /tmp/www & wait',
              ),
              // Never exits on its own, and ignores SIGTERM: the action does not wait for it.
              idle: sh('touch /tmp_disk/idle; exec sleep 3600'),
            },
          },
        ),
        { fleet: { stopGraceSeconds: 2 } },
      )
    ).result();
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0 });
    expect(await objectText(s3(), result.artifacts.find((a) => a.path === 'answer.txt')!.uri)).toBe('42\n');
    expect(result.containers).toMatchObject({
      main: { exitCode: 0 },
      web: { exitCode: 143 },
      idle: { exitCode: 137 },
    });
    // Each container's log in a folder of its own; the main one's where a lone container's goes.
    expect(result.containers!.main!.logs!.stdout).toBe(result.logs!.stdout);
    expect(result.containers!.web!.logs!.stdout).toMatch(/\/logs\/web\/stdout\.log$/);
    expect(await objectText(s3(), result.containers!.web!.logs!.stdout)).toBe('serving\n');
    expect(Date.now() - started).toBeLessThan(40_000);
  }, 60_000);

  it('an init container prepares the shared scratch disk before the main container starts', async () => {
    const result = await (
      await suite.client().start(
        busybox('cat /tmp_disk/prepared.txt > /out/seen.txt', {
          containers: { setup: { ...sh('echo ready > /tmp_disk/prepared.txt'), role: 'init' } },
        }),
      )
    ).result();
    expect(result).toMatchObject({ status: 'DONE', containers: { main: { exitCode: 0 }, setup: { exitCode: 0 } } });
    expect(await objectText(s3(), result.artifacts.find((a) => a.path === 'seen.txt')!.uri)).toBe('ready\n');
  }, 30_000);

  it('a failing init container fails the action before anything else starts: init-failed', async () => {
    const since = Date.now();
    const result = await (
      await suite.client().start(
        busybox('echo ran > /out/ran.txt', {
          containers: {
            broken: { ...sh('echo cannot >&2; exit 3'), role: 'init' },
            later: { ...sh('true'), role: 'init' },
            side: sh('sleep 30'),
          },
        }),
      )
    ).result();
    expect(result).toMatchObject({
      status: 'FAILED',
      reason: 'init-failed',
      exitCode: 3,
      message: 'init container broken exited 3; the main containers never started',
      containers: { main: { exitCode: null }, broken: { exitCode: 3 }, later: { exitCode: null } },
    });
    expect(result.logTail).toEqual(['cannot']);
    expect(await objectText(s3(), result.containers!.broken!.logs!.stderr)).toBe('cannot\n');
    // The engine started the failing init container and nothing else of the run.
    const starts = await engineEvents(docker(), since, [`${LABEL.runId}=${result.runId}`], ['start']);
    expect(starts.map((e) => e.labels[LABEL.container])).toEqual(['broken']);
  }, 30_000);
});
