// A network namespace of its own for tests, joined to the root one by a veth pair with a /30 on
// each side (addresses from 198.18.0.0/15, the range reserved for network tests), its loopback up.
// 198.18.0.0/16 is routed through the root side, which forwards: namespaces made this way reach
// each other, as hosts on one network do; nothing else is routed out of them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ip = (...args: string[]) => run('ip', args, { timeout: 10_000 });

export interface VethNamespace {
  netns: string;
  /** The interface names, at most 15 characters: `outside` stays in the root namespace. */
  outside: string;
  inside: string;
  /** The addresses of the root side and of the namespace's side. */
  root: string;
  mine: string;
}

export async function addVethNamespace(link: VethNamespace): Promise<void> {
  await ip('netns', 'add', link.netns);
  await ip('link', 'add', link.outside, 'type', 'veth', 'peer', 'name', link.inside);
  await ip('link', 'set', link.inside, 'netns', link.netns);
  await ip('addr', 'add', `${link.root}/30`, 'dev', link.outside);
  await ip('link', 'set', link.outside, 'up');
  await ip('netns', 'exec', link.netns, 'ip', 'addr', 'add', `${link.mine}/30`, 'dev', link.inside);
  await ip('netns', 'exec', link.netns, 'ip', 'link', 'set', link.inside, 'up');
  await ip('netns', 'exec', link.netns, 'ip', 'link', 'set', 'lo', 'up');
  await ip('netns', 'exec', link.netns, 'ip', 'route', 'add', '198.18.0.0/16', 'via', link.root);
}

/** Whatever of it exists goes: the pair with its root side, then the namespace. */
export async function removeVethNamespace(link: Pick<VethNamespace, 'netns' | 'outside'>): Promise<void> {
  await ip('link', 'del', link.outside).catch(() => {});
  await ip('netns', 'del', link.netns).catch(() => {});
}
