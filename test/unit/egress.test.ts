// Egress rules without a proxy running: which host patterns a spec and a policy may hold, how a
// spec's list narrows the policy's, the policy file's egress grant, and what the proxy is told.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, policyProblems, type Policy } from '../../activities/trust/policy.js';
import { CONNECT_PORT, filterText, tinyproxyConfig } from '../../activities/egress/proxy-config.js';
import { checkActionSpec, parseActionSpec } from '../../spec/action.js';
import { isHostPattern, patternCovers, uncovered } from '../../spec/egress.js';
import { loadPolicy } from '../../worker/policy-file.js';

const dir = mkdtempSync(join(tmpdir(), 'caisson-egress-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const image = 'r.example/team/tool:1';
const granted: Policy = {
  ...DEFAULT_POLICY,
  egress: { images: ['r.example/team/*'], allow: ['pypi.org', '*.huggingface.co'] },
};

describe('host patterns', () => {
  it('are lowercase dotted names with at most a leading wildcard, never an address', () => {
    for (const ok of ['pypi.org', '*.huggingface.co', 'files.pythonhosted.org', 'a-1.example.com'])
      expect(isHostPattern(ok), ok).toBe(true);
    for (const bad of [
      '169.254.169.254',
      '127.0.0.1',
      'localhost',
      '*',
      '*.org.*',
      'a.*.org',
      'PyPI.org',
      '[::1]',
      'pypi.org:443',
      'http://pypi.org',
      '-a.org',
    ])
      expect(isHostPattern(bad), bad).toBe(false);
  });

  it('a wildcard covers every name under it and narrower wildcards, not the domain itself', () => {
    expect(patternCovers('*.huggingface.co', 'cdn.huggingface.co')).toBe(true);
    expect(patternCovers('*.huggingface.co', '*.lfs.huggingface.co')).toBe(true);
    expect(patternCovers('*.huggingface.co', 'huggingface.co')).toBe(false);
    expect(patternCovers('*.huggingface.co', 'evilhuggingface.co')).toBe(false);
    expect(patternCovers('pypi.org', '*.pypi.org')).toBe(false);
    expect(uncovered(['pypi.org', 'cdn.huggingface.co', 'example.com'], granted.egress!.allow)).toEqual([
      'example.com',
    ]);
  });
});

describe('the spec', () => {
  it('takes network "egress" with an optional narrower list, and a list only with it', () => {
    const spec = parseActionSpec({ image, network: 'egress', egress: { allow: ['pypi.org'] } });
    expect(spec).toMatchObject({ network: 'egress', egress: { allow: ['pypi.org'] } });
    const alone = checkActionSpec({ image, egress: { allow: ['pypi.org'] } });
    expect(alone.success).toBe(false);
    expect(alone.error?.issues.map((i) => i.message)).toContain(
      'egress.allow narrows network "egress": set network to "egress"',
    );
    expect(checkActionSpec({ image, network: 'egress', egress: { allow: ['10.0.0.1'] } }).success).toBe(false);
  });
});

describe('the policy', () => {
  it('refuses egress it does not grant: no grant at all, or not for this image', () => {
    const spec = parseActionSpec({ image, network: 'egress' });
    expect(policyProblems(spec, DEFAULT_POLICY, 'b')).toEqual([
      `network: "egress" is not allowed for ${image} on this fleet (its policy grants egress to no image); use "none"`,
    ]);
    const other = parseActionSpec({ image: 'r.example/other/tool:1', network: 'egress' });
    expect(policyProblems(other, granted, 'b')[0]).toMatch(/^network: "egress" is not allowed for r.example\/other/);
    expect(policyProblems(spec, granted, 'b')).toEqual([]);
  });

  it('lets a spec narrow its list, never widen it', () => {
    const narrow = parseActionSpec({ image, network: 'egress', egress: { allow: ['pypi.org', 'cdn.huggingface.co'] } });
    expect(policyProblems(narrow, granted, 'b')).toEqual([]);
    const wide = parseActionSpec({ image, network: 'egress', egress: { allow: ['pypi.org', 'example.com'] } });
    expect(policyProblems(wide, granted, 'b')).toEqual([
      'egress.allow: example.com beyond what this fleet allows (pypi.org, *.huggingface.co); a spec may only narrow the list',
    ]);
  });

  it('file: egress needs images and host patterns; absent, none is granted', () => {
    const path = (json: unknown) => {
      const p = join(dir, `${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(p, JSON.stringify(json));
      return p;
    };
    expect(loadPolicy(path({})).policy.egress).toBeUndefined();
    expect(loadPolicy(path({ egress: { images: ['r.example/*'], allow: ['pypi.org'] } })).policy.egress).toEqual({
      images: ['r.example/*'],
      allow: ['pypi.org'],
    });
    expect(() => loadPolicy(path({ egress: { images: ['r.example/*'], allow: ['169.254.169.254'] } }))).toThrow(
      /egress\.allow\.0: a lowercase host name/,
    );
    expect(() => loadPolicy(path({ egress: { allow: ['pypi.org'] } }))).toThrow(/egress\.images/);
  });
});

describe('the proxy configuration', () => {
  it('denies by default, filters names with fnmatch, serves only the egress subnet and CONNECTs to 443 only', () => {
    const text = tinyproxyConfig({
      address: '198.19.255.1',
      port: 3128,
      clients: '198.19.255.0/24',
      filterFile: '/d/f',
    });
    for (const line of [
      'Listen 198.19.255.1',
      'Port 3128',
      'Allow 198.19.255.0/24',
      'Filter "/d/f"',
      'FilterType fnmatch',
      'FilterDefaultDeny Yes',
      `ConnectPort ${CONNECT_PORT}`,
    ])
      expect(text.split('\n')).toContain(line);
    expect(filterText(['pypi.org', '*.huggingface.co'])).toBe('pypi.org\n*.huggingface.co\n');
  });
});
