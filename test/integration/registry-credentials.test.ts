// A worker whose Docker config names a credential helper for the registry (and holds no `auths`)
// pulls through the product's pull code with the helper's answer, and a helper with a wrong answer
// gets ImageUnauthorized. The helper is a real program on PATH (test/fixtures/docker-credential-caisson-test).
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullImage, type PullDeps } from '../../activities/images/pull.js';
import { registryAuth } from '../../common/templates/registry-auth.js';
import { dockerClient } from '../../worker/docker.js';
import { env } from '../support/env.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/docker-credential-caisson-test', import.meta.url));

describe('registry credentials from a credential helper', () => {
  const image = env('TEST_IMAGE_BUSYBOX');
  const registry = env('TEST_REGISTRY');
  const docker = (env('DOCKER_HOST'), dockerClient());
  let root: string;
  let savedPath: string | undefined;

  const configDir = (name: string, helper: string): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [registry]: helper } }));
    return dir;
  };
  const deps = (dockerConfigDir: string): PullDeps => ({
    docker,
    allowedImages: [`${registry}/caisson/*`],
    dockerConfigDir,
  });
  const imagePresent = () =>
    docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      );

  beforeAll(async () => {
    env('TEST_REGISTRY_USERNAME');
    env('TEST_REGISTRY_PASSWORD');
    root = mkdtempSync(join(tmpdir(), 'caisson-registry-credentials-'));
    const bin = join(root, 'bin');
    mkdirSync(bin);
    for (const name of ['docker-credential-caisson-test', 'docker-credential-caisson-test-wrong']) {
      copyFileSync(FIXTURE, join(bin, name));
      chmodSync(join(bin, name), 0o755);
    }
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    // The pulls below must reach the registry, not find the image already in the engine.
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    expect(await imagePresent()).toBe(false);
  });

  afterAll(async () => {
    process.env.PATH = savedPath;
    // Other tests use the image: leave it in the engine, pulled with the worker's usual credentials.
    try {
      await pullImage(deps(env('DOCKER_CONFIG')), image);
    } finally {
      if (root) rmSync(root, { recursive: true, force: true });
    }
  });

  it('asks the helper named in credHelpers (config without auths) and pulls with its answer', async () => {
    const dir = configDir('helper', 'caisson-test');
    expect(await registryAuth(registry, dir)).toEqual({
      username: env('TEST_REGISTRY_USERNAME'),
      password: env('TEST_REGISTRY_PASSWORD'),
      serveraddress: registry,
    });
    const { digest } = await pullImage(deps(dir), image);
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(await imagePresent()).toBe(true);
  });

  it('fails as ImageUnauthorized when the helper answers wrong credentials', async () => {
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
    const dir = configDir('wrong', 'caisson-test-wrong');
    const err = await pullImage(deps(dir), image).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('ImageUnauthorized');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).not.toContain(env('TEST_REGISTRY_PASSWORD'));
    expect(await imagePresent()).toBe(false);
  });
});
