// The dev registry behind a proxy that slows what it sends: a pull of the busybox image then takes
// seconds, long enough for a test to crash something in the middle of it. The image's name carries
// the proxy's port, so no engine has it yet, and a docker config of its own holds the registry's
// credentials under that address.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { CountingProxy } from '../../harness/counting-proxy.js';
import { env } from './env.js';

export async function slowRegistry(bytesPerSecond: number, cleanups: (() => Promise<unknown>)[]) {
  const [host, port] = env('TEST_REGISTRY').split(':') as [string, string];
  const proxy = new CountingProxy({ host, port: Number(port) });
  const address = new URL(await proxy.start('tcp')).host;
  cleanups.push(() => proxy.stop());
  proxy.limitDownloads(bytesPerSecond);
  const dockerConfig = mkdtempSync(join(tmpdir(), 'caisson-slow-registry-'));
  cleanups.push(async () => rmSync(dockerConfig, { recursive: true, force: true }));
  const auth = Buffer.from(`${env('TEST_REGISTRY_USERNAME')}:${env('TEST_REGISTRY_PASSWORD')}`).toString('base64');
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [address]: { auth } } }));
  const image = env('TEST_IMAGE_BUSYBOX').replace(env('TEST_REGISTRY'), address);
  /** Resolves once the engine is fetching a layer through the proxy: the pull is under way. */
  const pulling = () =>
    vi.waitFor(
      () => expect(proxy.requests.filter((r) => /^GET .*\/blobs\/sha256:/.test(r)).length).toBeGreaterThan(0),
      { timeout: 30_000, interval: 50 },
    );
  return { proxy, image, dockerConfig, allowed: `${address}/caisson/*`, pulling };
}
