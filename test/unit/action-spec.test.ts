import { describe, expect, it } from 'vitest';
import { ActionSpec, InvalidSpecError, parseActionSpec } from '../../spec/action.js';

const image = '127.0.0.1:5000/caisson/busybox:1';

describe('action spec', () => {
  it('fills secure defaults', () => {
    const spec = parseActionSpec({ image });
    expect(spec.network).toBe('none');
    expect(spec.collect).toBe('always');
    expect(spec.timeout).toBe(3_600_000);
    expect(spec.retry).toEqual({ attempts: 1, onExitCodes: [], onReasons: [] });
    expect(spec.secrets).toEqual([]);
  });

  it('parses quantities into cores, bytes and milliseconds', () => {
    const spec = parseActionSpec({
      image,
      resources: { cpu: '500m', memory: '256Mi', pids: 64, gpus: 'all' },
      timeout: '2m',
    });
    expect(spec.resources).toEqual({ cpu: 0.5, memory: 256 * 2 ** 20, pids: 64, gpus: 'all' });
    expect(spec.timeout).toBe(120_000);
  });

  it('lists every problem with its field path', () => {
    let error: InvalidSpecError | undefined;
    try {
      parseActionSpec({
        image: 'Not A Ref!',
        command: 'echo hi',
        env: { '1BAD': 'x', ACTION_ID: 'mine' },
        resources: { memory: '512m', cpu: 'lots' },
        timeout: 'soon',
        network: 'bridge',
        secrets: ['ok_name', 'bad-name'],
        collect: 'sometimes',
        surprise: true,
      });
    } catch (err) {
      error = err as InvalidSpecError;
    }
    expect(error).toBeInstanceOf(InvalidSpecError);
    const paths = error!.problems.map((p) => p.path).sort();
    expect(paths).toEqual(
      [
        '(spec)',
        'collect',
        'command',
        'env.1BAD',
        'env.ACTION_ID',
        'image',
        'network',
        'resources.cpu',
        'resources.memory',
        'secrets.1',
        'timeout',
      ].sort(),
    );
    expect(error!.message).toContain('write "512Mi"');
    expect(error!.message).toContain('reserved');
  });

  it('refuses a secret that is also an env variable', () => {
    const result = ActionSpec.safeParse({ image, env: { TOKEN: 'x' }, secrets: ['TOKEN'] });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toContain('both an env variable and a secret');
  });

  it('accepts digests, JSON input and json output', () => {
    const digest = `${image.split(':1')[0]}@sha256:${'a'.repeat(64)}`;
    const spec = parseActionSpec({ image: digest, input: { a: [1, 'x', null] }, output: 'json' });
    expect(spec.input).toEqual({ a: [1, 'x', null] });
    expect(spec.output).toBe('json');
  });

  it('refuses an artifacts prefix that climbs out', () => {
    expect(ActionSpec.safeParse({ image, artifacts: { prefix: 'a/../b' } }).success).toBe(false);
  });
});
