import { describe, expect, it } from 'vitest';
import { imageAllowed, parseImageRef, pullReference } from '../../spec/image.js';

describe('image references', () => {
  it('splits registry, repository, tag and digest as the engine does', () => {
    expect(parseImageRef('127.0.0.1:5000/caisson/busybox:1')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'caisson/busybox',
      tag: '1',
      digest: undefined,
    });
    expect(parseImageRef('alpine')).toMatchObject({ registry: 'docker.io', repository: 'library/alpine' });
    expect(parseImageRef('team/tool:2')).toMatchObject({ registry: 'docker.io', repository: 'team/tool', tag: '2' });
    expect(parseImageRef('localhost/x')).toMatchObject({ registry: 'localhost', repository: 'x' });
    expect(parseImageRef('UPPER/case')).toBeUndefined();
  });

  it('pulls latest when no tag is given, and digests win', () => {
    expect(pullReference(parseImageRef('alpine')!)).toBe('docker.io/library/alpine:latest');
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(pullReference(parseImageRef(`r.io/a:1@${digest}`)!)).toBe(`r.io/a@${digest}`);
  });

  it('applies registry, namespace and exact patterns', () => {
    const ref = parseImageRef('127.0.0.1:5000/caisson/busybox:1')!;
    expect(imageAllowed(ref, ['127.0.0.1:5000'])).toBe(true);
    expect(imageAllowed(ref, ['127.0.0.1:5000/caisson/*'])).toBe(true);
    expect(imageAllowed(ref, ['127.0.0.1:5000/other/*'])).toBe(false);
    expect(imageAllowed(ref, ['127.0.0.1:5000/caisson/busybox'])).toBe(true);
    expect(imageAllowed(parseImageRef('alpine')!, ['127.0.0.1:5000'])).toBe(false);
    expect(imageAllowed(parseImageRef('alpine')!, ['*'])).toBe(true);
  });
});
