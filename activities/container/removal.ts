// Removing a container of ours takes its volumes and, where it had one, its own filesystem with it.
import type Docker from 'dockerode';
import type { HostDisks } from '../disks/host-disk.js';

export async function removeContainer(
  docker: Docker,
  disks: HostDisks | undefined,
  container: { Id: string; Names: string[] },
): Promise<void> {
  await docker
    .getContainer(container.Id)
    .remove({ force: true, v: true })
    .catch((err: { statusCode?: number }) => {
      // Gone already (404) or being removed (409): its disk can go all the same.
      if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
    });
  const name = container.Names[0]?.replace(/^\//, '');
  if (disks && name) await disks.remove(name);
}
