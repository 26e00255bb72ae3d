// Reconcile's sweep of the disks folder (worker/reconcile.ts) on a real temporary folder, with the
// engine, the host's commands and its mount table stood in for: it removes only this host's
// disks, as real folders of the disks folder, unmounting by the real path, never through a link.
import {
  existsSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostDisks } from '../../activities/disks/host-disk.js';
import type { CommandHelper } from '../../activities/disks/command-helper.js';
import { diskOfHost, reconcileContainers } from '../../worker/reconcile.js';

const HOST = 'h1';
let dir: string;
let folder: string;
let calls: string[][];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-reconcile-'));
  folder = join(dir, 'disks');
  mkdirSync(folder);
  calls = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('diskOfHost', () => {
  it('is a container disk of this host by its name, nothing else', () => {
    expect(diskOfHost(`caisson-run-1-${HOST}`, HOST)).toBe(true);
    expect(diskOfHost(`caisson-run-1-other-${HOST}x`, HOST)).toBe(false);
    expect(diskOfHost(`backup-${HOST}`, HOST)).toBe(false);
    expect(diskOfHost(`caisson-run-1-other`, HOST)).toBe(false);
  });
});

describe('reconcileContainers, the disks sweep', () => {
  it("removes only this host's old disks, real folders only, unmounting one with a space by its real path", async () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    const old = (name: string) => {
      mkdirSync(join(folder, name, 'mnt', 'out'), { recursive: true });
      utimesSync(join(folder, name), hourAgo, hourAgo);
    };
    old(`caisson-gone-1-${HOST}`);
    old(`caisson-a b-1-${HOST}`);
    old('caisson-gone-1-other');
    old(`backup-${HOST}`);
    // Another namespace's worker, under the same host name, shares the folder: its disk is its own.
    old(`caisson-theirs-1-${HOST}`);
    writeFileSync(
      join(folder, `caisson-theirs-1-${HOST}`, 'owner.json'),
      JSON.stringify({ host: HOST, namespace: 'team-b', queue: `q@${HOST}` }),
    );
    utimesSync(join(folder, `caisson-theirs-1-${HOST}`), hourAgo, hourAgo);
    old(`caisson-mine-1-${HOST}`);
    writeFileSync(
      join(folder, `caisson-mine-1-${HOST}`, 'owner.json'),
      JSON.stringify({ host: HOST, namespace: 'default', queue: `q@${HOST}` }),
    );
    utimesSync(join(folder, `caisson-mine-1-${HOST}`), hourAgo, hourAgo);
    mkdirSync(join(folder, `caisson-fresh-1-${HOST}`));
    // A link in the disks folder named like a disk of ours, to a folder elsewhere.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'keep'), 'x');
    symlinkSync(elsewhere, join(folder, `caisson-link-1-${HOST}`));
    lutimesSync(join(folder, `caisson-link-1-${HOST}`), hourAgo, hourAgo);

    const spaced = join(folder, `caisson-a b-1-${HOST}`, 'mnt');
    const table = `/dev/loop3 ${spaced.replace(/ /g, '\\040')} ext4 rw 0 0\n`;
    const commands = {
      run: async (command: string, args: string[]) => {
        calls.push([command, ...args]);
        return { stdout: '', stderr: '' };
      },
    } as unknown as CommandHelper;
    const disks = new HostDisks(folder, commands, async () => table);
    const docker = { listContainers: async () => [], listNetworks: async () => [] } as unknown as Docker;

    const report = await reconcileContainers(
      docker,
      {} as Client,
      { host: HOST, namespace: 'default', queue: `q@${HOST}` },
      disks,
    );
    expect(report.disksRemoved.sort()).toEqual([
      `caisson-a b-1-${HOST}`,
      `caisson-gone-1-${HOST}`,
      `caisson-mine-1-${HOST}`,
    ]);
    expect(calls).toEqual([['umount', spaced]]);
    expect(readdirSync(folder).sort()).toEqual([
      'backup-h1',
      'caisson-fresh-1-h1',
      'caisson-gone-1-other',
      'caisson-link-1-h1',
      'caisson-theirs-1-h1',
    ]);
    expect(existsSync(join(elsewhere, 'keep'))).toBe(true);
  });
});
