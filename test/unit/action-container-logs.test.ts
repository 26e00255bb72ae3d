// The GitHub Action shows a pod's other containers' stored logs, each under its header, bounded.
import { describe, expect, it } from 'vitest';
import { printContainerLogs } from '../../action/container-logs.js';
import type { StoredLogChunk } from '../../client/container-log.js';

const logs = { stdout: 's3://b/a/logs/side/stdout.log', stderr: 's3://b/a/logs/side/stderr.log' };

function handleWith(chunks: Record<string, StoredLogChunk[]>) {
  const asked: string[] = [];
  return {
    asked,
    handle: {
      async *containerLog(name: string) {
        asked.push(name);
        yield* chunks[name] ?? [];
      },
    },
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe("the Action's view of a pod's other containers", () => {
  it('prints each one but main under a header, lines whole across chunks, stderr in red', async () => {
    const { handle, asked } = handleWith({
      side: [
        { stream: 'stdout', bytes: bytes('served one\nserv') },
        { stream: 'stdout', bytes: bytes('ed two\n') },
        { stream: 'stderr', bytes: bytes('warning') },
      ],
    });
    const lines: string[] = [];
    await printContainerLogs((l) => lines.push(l), handle as never, {
      containers: { main: { exitCode: 0, logs } as never, side: { exitCode: 143, logs } as never },
    });
    expect(asked).toEqual(['side']);
    expect(lines).toEqual([
      '--- container side (exit code 143) ---',
      'served one',
      'served two',
      '\x1b[31mwarning\x1b[0m',
    ]);
  });

  it('says so for a container never made, and stops at 1 MiB of a long log, naming where the rest is', async () => {
    const big = 'x'.repeat(1023) + '\n';
    const { handle } = handleWith({
      long: Array.from({ length: 1100 }, () => ({ stream: 'stdout' as const, bytes: bytes(big) })),
    });
    const lines: string[] = [];
    await printContainerLogs((l) => lines.push(l), handle as never, {
      containers: { never: { exitCode: null } as never, long: { exitCode: 0, logs } as never },
    });
    expect(lines[0]).toBe('--- container never (exit code -) ---');
    expect(lines[1]).toBe('(never made: no log)');
    expect(lines.filter((l) => l === 'x'.repeat(1023))).toHaveLength(1024);
    expect(lines.at(-1)).toMatch(
      /^\(the first 1048576 bytes of long's log; all of it: s3:\/\/b\/a\/logs\/side\/stdout\.log\)$/,
    );
  });
});
