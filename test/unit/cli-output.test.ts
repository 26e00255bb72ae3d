// What people read from `caisson`: aligned columns, human sizes and ages, the -o formats, the exit
// code an ended action stands for, and the shell completion made from the command tree.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { humanAge, humanBytes, table } from '../../cli/table.js';
import { formatOf, renderList, type Columns } from '../../cli/output-format.js';
import { exitCodeFor } from '../../cli/exit-codes.js';
import { bashCompletion } from '../../cli/completion.js';
import { buildProgram } from '../../cli/program.js';
import { UsageError } from '../../cli/spec-from-flags.js';

describe('caisson tables', () => {
  it('align every column to its widest cell, with spaces, and leave the last unpadded', () => {
    const lines = table(
      ['ACTION', 'STATUS', 'AGE'],
      [
        ['action-1', 'RUNNING', '3s'],
        ['a-much-longer-id', 'DONE', '2h'],
      ],
    );
    expect(lines).toEqual([
      'ACTION             STATUS    AGE',
      'action-1           RUNNING   3s',
      'a-much-longer-id   DONE      2h',
    ]);
    expect(lines.join('')).not.toContain('\t');
  });

  it('show sizes in binary units and ages in the largest unit that fits', () => {
    expect(humanBytes(16374760 * 1024)).toBe('15.6 GiB');
    expect(humanBytes(512 * 2 ** 20)).toBe('512 MiB');
    expect(humanBytes(2)).toBe('2 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(Infinity)).toBe('unbounded');
    expect([45e3, 3 * 6e4, 2 * 36e5, 5 * 864e5].map(humanAge)).toEqual(['45s', '3m', '2h', '5d']);
  });
});

describe('caisson -o', () => {
  const columns: Columns<{ id: string; size: number }> = {
    header: ['ID', 'SIZE'],
    row: (r) => [r.id, humanBytes(r.size)],
    wide: { header: ['BYTES'], row: (r) => [String(r.size)] },
    name: (r) => r.id,
  };
  const items = [
    { id: 'a', size: 1024 },
    { id: 'bb', size: Infinity },
  ];

  it('prints json, yaml, names, the table or the wide table', () => {
    expect(JSON.parse(renderList(items, 'json', columns)[0]!)).toEqual([
      { id: 'a', size: 1024 },
      { id: 'bb', size: null },
    ]);
    expect(renderList(items, 'yaml', columns)[0]).toBe('- id: a\n  size: 1024\n- id: bb\n  size: null');
    expect(renderList(items, 'name', columns)).toEqual(['a', 'bb']);
    expect(renderList(items, 'table', columns)).toEqual(['ID   SIZE', 'a    1 KiB', 'bb   unbounded']);
    expect(renderList(items, 'wide', columns)[0]).toBe('ID   SIZE        BYTES');
  });

  it('takes --json as -o json and refuses an unknown format', () => {
    expect(formatOf({ json: true })).toBe('json');
    expect(formatOf({})).toBe('table');
    expect(formatOf({ output: 'wide' })).toBe('wide');
    expect(() => formatOf({ output: 'xml' })).toThrow(UsageError);
    expect(() => formatOf({ output: 'yaml', json: true })).toThrow(/exclude each other/);
  });
});

describe('caisson exit codes', () => {
  it('are those of docker run: 0 DONE, the container code, 125 when nothing ran, 1 canceled', () => {
    expect(exitCodeFor({ status: 'DONE', exitCode: 0 })).toBe(0);
    expect(exitCodeFor({ status: 'FAILED', exitCode: 3 })).toBe(3);
    expect(exitCodeFor({ status: 'FAILED', exitCode: 127 })).toBe(127);
    expect(exitCodeFor({ status: 'FAILED', exitCode: null })).toBe(125);
    expect(exitCodeFor({ status: 'FAILED', exitCode: 0 })).toBe(1);
    expect(exitCodeFor({ status: 'CANCELED', exitCode: 137 })).toBe(1);
  });
});

describe('caisson completion bash', () => {
  const complete = (line: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-completion-'));
    try {
      const script = join(dir, 'caisson.bash');
      writeFileSync(script, bashCompletion(buildProgram('0.0.0')));
      const words = line.split(' ');
      const run = spawnSync(
        'bash',
        [
          '-c',
          `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _caisson_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'complete',
          script,
        ],
        { encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      return run.stdout.trim().split('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('is valid bash', () => {
    const run = spawnSync('bash', ['-n'], { input: bashCompletion(buildProgram('0.0.0')), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  });

  it('completes commands, subcommands and flags', () => {
    expect(complete('caisson ru')).toEqual(['run']);
    expect(complete('caisson host ')).toEqual(expect.arrayContaining(['list', 'drain', 'undrain']));
    expect(complete('caisson schedule cr')).toEqual(['create']);
    expect(complete('caisson run --mem')).toEqual(['--memory']);
    expect(complete('caisson run -m 64Mi --ent')).toEqual(['--entrypoint']);
    expect(complete('caisson host list --o')).toEqual(['--output']);
  });
});
