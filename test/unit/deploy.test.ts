// The operator kit in deploy/: the systemd unit passes systemd-analyze, the alerting rules pass
// promtool, and the dashboard and the rules query only metrics the worker serves.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MetricMeter } from '@temporalio/common';
import { createMetrics } from '../../activities/metrics.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** Runs a checking tool; a missing one fails the test with how to install it. */
function runTool(tool: string, args: string[], install: string): { status: number | null; output: string } {
  const run = spawnSync(tool, args, { encoding: 'utf8' });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(`${tool} is not installed: ${install}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/** The names the worker's own metrics are served under (histograms with their series' suffixes). */
function servedNames(): Set<string> {
  const names = new Set<string>();
  const meter = new Proxy(
    {},
    {
      get: (_, method: string) => (name: string) => {
        names.add(name);
        if (method === 'createHistogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(name + suffix);
        return {};
      },
    },
  ) as MetricMeter;
  createMetrics(meter);
  return names;
}

const queried = (text: string) => [...new Set(text.match(/\bcaisson_[a-z_]+\b/g) ?? [])];

describe('deploy/', () => {
  it('caisson-worker.service passes systemd-analyze verify without a warning', () => {
    const verify = runTool(
      'systemd-analyze',
      ['verify', `${DEPLOY}caisson-worker.service`],
      'apt-get install systemd (it ships systemd-analyze)',
    );
    expect(verify).toEqual({ status: 0, output: '' });
  });

  it('prometheus/alerts.yml passes promtool check rules', () => {
    const check = runTool(
      'promtool',
      ['check', 'rules', `${DEPLOY}prometheus/alerts.yml`],
      'scripts/dev-env test-tools (Debian package prometheus)',
    );
    expect(check.status, check.output).toBe(0);
    expect(check.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the dashboard is JSON whose every query names a metric the worker serves', () => {
    const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana/caisson.json`, 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { query: unknown }[] };
    };
    const queries = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => JSON.stringify(v.query)),
    ];
    const names = queries.flatMap(queried);
    expect(names.length).toBeGreaterThan(10);
    const served = servedNames();
    expect(names.filter((name) => !served.has(name))).toEqual([]);
  });

  it('the alerting rules name only metrics the worker serves', () => {
    const rules = readFileSync(`${DEPLOY}prometheus/alerts.yml`, 'utf8');
    const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(3);
    const served = servedNames();
    expect(exprs.flatMap(queried).filter((name) => !served.has(name))).toEqual([]);
  });

  it('worker.Dockerfile runs the worker from the built tree', () => {
    const dockerfile = readFileSync(`${DEPLOY}worker.Dockerfile`, 'utf8');
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/opt\/caisson\/build\/cli\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["worker"\]$/m);
  });
});
