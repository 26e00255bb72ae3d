// `caisson run` flags become the same spec fields as every other entry point's.
import { describe, expect, it } from 'vitest';
import { specFromFlags, UsageError } from '../../cli/spec-from-flags.js';
import { parseActionSpec } from '../../spec/action.js';

describe('caisson run flags', () => {
  it('turn --out-disk, --tmp-disk, --log-size and --pull into the disk budget, the log size and the pull policy', () => {
    const spec = parseActionSpec(
      specFromFlags('127.0.0.1:5000/x/y:1', ['true'], {
        'out-disk': '2Gi',
        'tmp-disk': '512Mi',
        'log-size': '64Mi',
        pull: 'never',
      }),
    );
    expect(spec.resources).toMatchObject({ outDisk: 2 * 2 ** 30, tmpDisk: 512 * 2 ** 20, logSize: 64 * 2 ** 20 });
    expect(spec.pullPolicy).toBe('never');
  });

  it('turn --require and --prefer into placement labels, and name a bad pair', () => {
    const spec = parseActionSpec(
      specFromFlags('127.0.0.1:5000/x/y:1', [], { require: ['zone=a', 'disk=nvme'], prefer: ['arch=amd64'] }),
    );
    expect(spec.placement).toEqual({ require: { zone: 'a', disk: 'nvme' }, prefer: { arch: 'amd64' } });
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { require: ['zone'] })).toThrow(
      /--require "zone": write LABEL=VALUE/,
    );
  });

  it('turn --label (pairs or comma lists) and --annotation into labels and annotations, and name a bad one', () => {
    const spec = parseActionSpec(
      specFromFlags('127.0.0.1:5000/x/y:1', [], {
        label: ['team=vision,exp=42', 'stage=train'],
        annotation: ['note=tried lr 0.1, then 0.01', 'owner=ana'],
      }),
    );
    expect(spec.labels).toEqual({ team: 'vision', exp: '42', stage: 'train' });
    expect(spec.annotations).toEqual({ note: 'tried lr 0.1, then 0.01', owner: 'ana' });
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { label: ['team'] })).toThrow(
      /--label "team": write LABEL=VALUE/,
    );
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { annotation: ['note'] })).toThrow(/--annotation/);
  });

  it('turn --replicas into a gang of that many, and name a bad count', () => {
    expect(specFromFlags('127.0.0.1:5000/x/y:1', [], { replicas: '4', network: 'gang' })).toMatchObject({
      replicas: 4,
      gang: true,
      network: 'gang',
    });
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { replicas: 'four' })).toThrow(
      '--replicas takes a whole number, not "four"',
    );
  });

  it('name a bad --env pair', () => {
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { env: ['NOEQUALS'] })).toThrow(UsageError);
    expect(() => specFromFlags('127.0.0.1:5000/x/y:1', [], { env: ['NOEQUALS'] })).toThrow(
      /--env "NOEQUALS": write KEY=VALUE/,
    );
  });
});

describe('caisson run IMAGE -- ARGS, as docker run', () => {
  it('keeps the image ENTRYPOINT: the words after "--" are its args', () => {
    const spec = specFromFlags('127.0.0.1:5000/x/y:1', ['echo', 'hi'], {});
    expect(spec).toMatchObject({ args: ['echo', 'hi'] });
    expect(spec).not.toHaveProperty('command');
  });

  it('replaces the ENTRYPOINT with --entrypoint, the words after "--" its args', () => {
    const spec = parseActionSpec(specFromFlags('127.0.0.1:5000/x/y:1', ['hi'], { entrypoint: '/bin/echo' }));
    expect(spec.command).toEqual(['/bin/echo']);
    expect(spec.args).toEqual(['hi']);
  });
});
