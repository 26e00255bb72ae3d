// The lint rule that keeps workflow code deterministic flags what would break replay, and the
// workflow code as it stands passes it.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function problems(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${filePath}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

// The first lint loads the parser and every plugin: seconds on a busy 2-core machine.
describe('workflow determinism lint', { timeout: 30_000 }, () => {
  it('refuses Node built-ins in workflow code and in the spec modules it imports', async () => {
    expect(
      await problems("import { hostname } from 'node:os';\nexport const h = hostname();\n", 'spec/config.ts'),
    ).toEqual([expect.stringMatching(/no-restricted-imports: .*no Node built-ins/)]);
    expect(
      await problems("import { readFileSync } from 'fs';\nexport const f = readFileSync;\n", 'workflows/x.ts'),
    ).toHaveLength(1);
  });

  it('refuses host state and I/O globals', async () => {
    const found = await problems(
      'export const a = process.env.HOME;\nexport const b = fetch;\nexport const c = crypto.randomUUID();\n',
      'workflows/x.ts',
    );
    expect(found.filter((p) => p.startsWith('no-restricted-globals'))).toHaveLength(3);
  });

  it('allows host-side modules as types only', async () => {
    expect(
      await problems(
        "import type { Activities } from '../activities/index.js';\nexport type A = Activities;\n",
        'workflows/x.ts',
      ),
    ).toEqual([]);
    expect(
      await problems(
        "import { createActivities } from '../activities/index.js';\nexport const c = createActivities;\n",
        'workflows/x.ts',
      ),
    ).toEqual([expect.stringMatching(/only types from the host side/)]);
    expect(await problems("import Docker from 'dockerode';\nexport const d = Docker;\n", 'spec/x.ts')).toEqual([
      expect.stringMatching(/I\/O client/),
    ]);
  });

  it('passes on the workflow and spec code of this tree', async () => {
    const results = await eslint.lintFiles(['workflows', 'spec']);
    expect(results.length).toBeGreaterThan(3);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`))).toEqual([]);
  });
});
