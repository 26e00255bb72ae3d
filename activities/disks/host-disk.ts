// Each container gets a filesystem of its own for /out and /tmp_disk: a sparse file formatted as
// ext4 and loop-mounted under the worker's disks folder, bind-mounted into the container. Its size
// is the action's disk budget (resources.outDisk + resources.tmpDisk), which the kernel enforces:
// a container that fills it gets ENOSPC and no other action or the host notices. After the
// container has stopped, /out is read from this folder (see collect-dir.ts); at removal the
// filesystem is unmounted (the loop device goes with it) and the folder deleted.
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, lstat, statfs, chmod, writeFile } from 'node:fs/promises';
import type { Owner } from '../container/labels.js';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CommandHelper } from './command-helper.js';
import { entryOf, PathOutsideRoot } from '../trust/contained-path.js';

const exec = promisify(execFile);
/** Bounded: a stuck mount or mkfs fails the step (and is retried) instead of hanging it. */
const COMMAND_TIMEOUT_MS = 30_000;

export interface ContainerDisk {
  /** The mount point; `out`, `tmp_disk` and `in` inside it are what the container sees. */
  root: string;
  out: string;
  tmp: string;
  /** Staged inputs, mounted read-only at /in (when the action has inputs). */
  in: string;
  /** The container's /etc/hosts, beside the filesystem, so mounted read-only (a write there would escape the size limit). */
  hosts: string;
}

/**
 * What the engine writes into /etc/hosts of a container without a network. A container given no
 * network by the engine gets none, and programs that look up "localhost" expect one.
 */
/** Beside the filesystem in the container's folder: the namespace, queue and host it belongs to. */
const OWNER_FILE = 'owner.json';
const LOOPBACK_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';

/** The kernel's table of mounts: one line per mount, its mount point the second field. */
const readProcMounts = () => readFile('/proc/self/mounts', 'utf8');

/**
 * The mount points of a mount table as /proc/self/mounts writes it: fields are separated by
 * spaces, so the kernel writes a space, tab, newline or backslash inside a path as an octal escape
 * ("\040"); they are undone here, or a folder whose path holds one would never be found mounted
 * (and a mounted filesystem would be formatted again, or its folder deleted under it).
 */
export function mountPoints(table: string): string[] {
  return table
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((field): field is string => field !== undefined)
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

export class HostDisks {
  /** mkfs, mount and umount run in a helper process: the worker forks nothing per action. */
  constructor(
    readonly folder: string,
    private readonly commands = new CommandHelper(),
    private readonly readMounts: () => Promise<string> = readProcMounts,
  ) {}

  /**
   * `dir`: the container's folder, one entry of the disks folder (a name holding "/" or ".." is
   * refused with PathOutsideRoot: removing the folder must never remove anything beside it).
   * `inputs`: the record of what was staged into /in, beside the filesystem (for a re-attach).
   * The rest are fixed names joined under `dir`.
   */
  paths(name: string): ContainerDisk & { dir: string; image: string; inputs: string } {
    const dir = entryOf(this.folder, name);
    const root = join(dir, 'mnt');
    return {
      dir,
      root,
      out: join(root, 'out'),
      tmp: join(root, 'tmp_disk'),
      in: join(root, 'in'),
      hosts: join(dir, 'hosts'),
      image: join(dir, 'disk.img'),
      inputs: join(dir, 'inputs.json'),
    };
  }

  /**
   * The folders the container's bind mounts name, made at once so the container can be created
   * while its filesystem is still being made: the engine resolves a bind mount's source when it
   * starts the container, by then on the mounted filesystem.
   */
  async prepare(name: string, owner?: Owner): Promise<ContainerDisk> {
    const p = this.paths(name);
    for (const dir of [p.out, p.tmp, p.in]) await mkdir(dir, { recursive: true });
    await writeFile(p.hosts, LOOPBACK_HOSTS, { mode: 0o644 });
    // Whose disk it is, as its container's labels say: a worker of another namespace sharing this
    // folder (and host name) leaves it alone (worker/reconcile.ts).
    if (owner) await writeFile(join(p.dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o644 });
    return p;
  }

  /** The owner written at prepare; undefined for a disk made before owners were written, or unreadable. */
  async owner(name: string): Promise<Owner | undefined> {
    try {
      const owner = JSON.parse(await readFile(join(this.paths(name).dir, OWNER_FILE), 'utf8')) as Owner;
      return typeof owner?.namespace === 'string' && typeof owner.queue === 'string' && typeof owner.host === 'string'
        ? owner
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Makes (or, after a crash, finds) the container's filesystem, mounted, with /out and /tmp_disk in it. */
  async mount(name: string, bytes: number): Promise<ContainerDisk> {
    const p = this.paths(name);
    if (!(await this.mounted(p.root))) {
      await mkdir(p.root, { recursive: true });
      const file = await open(p.image, 'w');
      try {
        await file.truncate(bytes); // sparse: takes no room until written
      } finally {
        await file.close();
      }
      // No journal, no reserved blocks: a scratch filesystem that lives as long as one container.
      // Never grown (no resize inode) and made on a new sparse file (nothing to discard): mkfs
      // writes 152 KiB instead of 1.2 MiB for 2 GiB, in a third of the time; inodes as by default.
      await this.run('mkfs.ext4', [
        '-q',
        '-F',
        '-m',
        '0',
        '-O',
        '^has_journal,^resize_inode',
        '-E',
        'nodiscard',
        p.image,
      ]);
      await this.run('mount', ['-o', 'loop,nosuid,nodev', p.image, p.root]);
    }
    for (const dir of [p.out, p.tmp]) {
      await mkdir(dir, { recursive: true });
      // Any user the action runs as may write; the folder is this container's alone.
      await chmod(dir, 0o1777);
    }
    // Inputs: written by the worker only, read by any user (and mounted read-only).
    await mkdir(p.in, { recursive: true, mode: 0o755 });
    return { root: p.root, out: p.out, tmp: p.tmp, in: p.in, hosts: p.hosts };
  }

  async exists(name: string): Promise<boolean> {
    return this.mounted(this.paths(name).root);
  }

  /** Whether /out and /tmp_disk (one filesystem) ran out of room. */
  async full(name: string): Promise<boolean> {
    const p = this.paths(name);
    try {
      const fs = await statfs(p.root);
      // ext4 refuses a write well before the last block is taken (it keeps room for the metadata
      // of delayed allocation, hundreds of KiB on a small filesystem): "full" is within 1 MiB plus
      // 1 % of the size, where writes of ordinary size fail with ENOSPC.
      return fs.bavail * fs.bsize < 2 ** 20 + (fs.blocks * fs.bsize) / 100;
    } catch {
      return false;
    }
  }

  /** Unmounts (the loop device is released with it) and deletes the container's folder. */
  async remove(name: string): Promise<void> {
    const p = this.paths(name);
    if (await this.mounted(p.root)) await this.run('umount', [p.root]);
    // Recursive rm removes a symlink the container left in /out or /tmp_disk, never its target.
    await rm(p.dir, { recursive: true, force: true });
  }

  /**
   * Folders of containers on this host, with when they were made: real folders only (lstat), so a
   * link in the disks folder is never taken for a disk, and no name that is not one entry.
   */
  async list(): Promise<{ name: string; createdMs: number }[]> {
    const names = await readdir(this.folder).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const out: { name: string; createdMs: number }[] = [];
    for (const name of names) {
      const dir = this.entry(name);
      const info = dir ? await lstat(dir).catch(() => undefined) : undefined;
      if (info?.isDirectory()) out.push({ name, createdMs: info.mtimeMs });
    }
    return out;
  }

  private async run(command: string, args: string[]): Promise<void> {
    try {
      await this.commands.run(command, args, COMMAND_TIMEOUT_MS);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  }

  /** `name`'s folder, or undefined when it is not a single entry of the disks folder. */
  private entry(name: string): string | undefined {
    try {
      return entryOf(this.folder, name);
    } catch (err) {
      if (err instanceof PathOutsideRoot) return undefined;
      throw err;
    }
  }

  private async mounted(path: string): Promise<boolean> {
    return mountPoints(await this.readMounts()).includes(path);
  }
}

/** Whether this worker can give containers disks of their own: root, a local engine, the tools. */
export async function hostDisksUsable(folder: string): Promise<{ ok: true } | { ok: false; why: string }> {
  if (process.getuid?.() !== 0) return { ok: false, why: 'the worker does not run as root (mount needs it)' };
  try {
    await mkdir(folder, { recursive: true });
    await exec('mkfs.ext4', ['-V'], { timeout: COMMAND_TIMEOUT_MS });
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
  return { ok: true };
}
