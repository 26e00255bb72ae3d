// Containers' disks (host-disk.ts) on a real temporary folder, with the host's commands and mount
// table stood in for: a disk is always one entry of the disks folder, removing it never leaves
// that folder nor follows a link, and the mount table is read as the kernel writes it (a path
// with a space or newline is escaped there).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostDisks, mountPoints } from '../../activities/disks/host-disk.js';
import { PathOutsideRoot } from '../../activities/trust/contained-path.js';
import type { CommandHelper } from '../../activities/disks/command-helper.js';

let dir: string;
let folder: string;
let calls: string[][];
let table: string;

/** How /proc/self/mounts writes a mount point: space, tab, newline and backslash as octal. */
const escaped = (path: string) =>
  path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
const mountLine = (path: string) => `/dev/loop7 ${escaped(path)} ext4 rw,nosuid,nodev,relatime 0 0`;

function disks(): HostDisks {
  const commands = {
    run: async (command: string, args: string[]) => {
      calls.push([command, ...args]);
      return { stdout: '', stderr: '' };
    },
  } as unknown as CommandHelper;
  return new HostDisks(folder, commands, async () => table);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paths-host-disk-'));
  folder = join(dir, 'disks');
  mkdirSync(folder);
  calls = [];
  table = 'proc /proc proc rw 0 0\n';
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('mountPoints', () => {
  it('undoes the octal escapes of spaces, tabs, newlines and backslashes', () => {
    const odd = '/var/lib/caisson disks/a\tb/c\nd/e\\f/mnt';
    expect(mountPoints(`sysfs /sys sysfs rw 0 0\n${mountLine(odd)}\n`)).toEqual(['/sys', odd]);
    // A path that merely looks escaped in the table is written with its backslash escaped.
    expect(mountPoints(mountLine('/x\\040y'))).toEqual(['/x\\040y']);
  });
});

describe('HostDisks.paths', () => {
  it('is one entry of the disks folder, whatever the name holds besides "/"', () => {
    const p = disks().paths('caisson-r 1\n-1-h');
    expect(p.dir).toBe(join(folder, 'caisson-r 1\n-1-h'));
    expect(p.out).toBe(join(p.dir, 'mnt', 'out'));
  });

  it('refuses a name with "/", "..", an absolute path, NUL or nothing', () => {
    for (const name of ['caisson-x/../../etc-1-h', '..', '/etc', 'a\0b', '', 'a/b'])
      expect(() => disks().paths(name)).toThrow(PathOutsideRoot);
  });
});

describe('HostDisks.exists and remove', () => {
  it('find a disk whose path holds a space or newline mounted, and unmount it by its real path', async () => {
    const name = 'caisson-a b\nc-1-h';
    const d = disks();
    await d.prepare(name);
    table += `${mountLine(d.paths(name).root)}\n`;
    expect(await d.exists(name)).toBe(true);
    await d.remove(name);
    expect(calls).toEqual([['umount', d.paths(name).root]]);
    expect(existsSync(d.paths(name).dir)).toBe(false);
  });

  it('remove the links a container left in /out, never what they point at', async () => {
    const name = 'caisson-r-1-h';
    const d = disks();
    const p = await d.prepare(name);
    const hostDir = join(dir, 'host');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'keep'), 'host file');
    symlinkSync(hostDir, join(p.out, 'to-host'));
    symlinkSync(join(hostDir, 'keep'), join(p.tmp, 'keep'));
    await d.remove(name);
    expect(readFileSync(join(hostDir, 'keep'), 'utf8')).toBe('host file');
    expect(existsSync(join(folder, name))).toBe(false);
  });

  it('refuse a name that would remove the disks folder or beside it', async () => {
    writeFileSync(join(dir, 'beside'), 'x');
    await expect(disks().remove('..')).rejects.toThrow(PathOutsideRoot);
    await expect(disks().remove('../beside')).rejects.toThrow(PathOutsideRoot);
    expect(existsSync(folder)).toBe(true);
    expect(existsSync(join(dir, 'beside'))).toBe(true);
  });
});

describe('HostDisks.list', () => {
  it('gives real folders only: no link (to a folder elsewhere) and no file', async () => {
    mkdirSync(join(folder, 'caisson-a b-1-h'));
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(folder, 'caisson-link-1-h'));
    writeFileSync(join(folder, 'caisson-file-1-h'), '');
    expect((await disks().list()).map((d) => d.name)).toEqual(['caisson-a b-1-h']);
  });
});

describe('HostDisks.mount', () => {
  it('formats and mounts by the real paths of a name with a space, and not again when mounted', async () => {
    const name = 'caisson-a b-1-h';
    const d = disks();
    const p = d.paths(name);
    // Not mounted: made (the mount itself is stood in for, so the folders land on the host folder).
    await d.mount(name, 1 << 20);
    expect(calls.map((c) => c[0])).toEqual(['mkfs.ext4', 'mount']);
    expect(calls[0]!.at(-1)).toBe(p.image);
    expect(calls[1]!.slice(-2)).toEqual([p.image, p.root]);
    // Mounted (as the kernel lists it, escaped): found, not formatted again.
    calls = [];
    table += `${mountLine(p.root)}\n`;
    await d.mount(name, 1 << 20);
    expect(calls).toEqual([]);
  });
});
