// The logs of a pod's other containers (spec.containers) in the step's log, once the action has
// ended: only the top-level container's log is live. Printed as text (the caller relays them with
// workflow commands stopped), each container under a header line, at most LOG_BYTES of each.
import type { ActionHandle } from '../client/index.js';
import type { ActionResult } from '../spec/result.js';

/** What the step's log shows of each other container at most; the rest is in S3 (the result's logs). */
const LOG_BYTES = 1 << 20;

export async function printContainerLogs(
  info: (line: string) => void,
  handle: Pick<ActionHandle, 'containerLog'>,
  result: Pick<ActionResult, 'containers'>,
): Promise<void> {
  for (const [name, ended] of Object.entries(result.containers ?? {})) {
    if (name === 'main') continue;
    info(`--- container ${name} (exit code ${ended.exitCode ?? '-'}) ---`);
    if (!ended.logs) {
      info('(never made: no log)');
      continue;
    }
    let shown = 0;
    let cut = false;
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const pending = { stdout: '', stderr: '' };
    const emit = (stream: 'stdout' | 'stderr', text: string) =>
      info(stream === 'stderr' ? `\x1b[31m${text}\x1b[0m` : text);
    for await (const chunk of handle.containerLog(name)) {
      if (shown >= LOG_BYTES) {
        cut = true;
        break;
      }
      const bytes = chunk.bytes.subarray(0, LOG_BYTES - shown);
      shown += bytes.length;
      cut ||= bytes.length < chunk.bytes.length;
      const lines = (pending[chunk.stream] + decoders[chunk.stream].decode(bytes, { stream: true })).split('\n');
      pending[chunk.stream] = lines.pop() ?? '';
      for (const line of lines) emit(chunk.stream, line);
    }
    for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) emit(stream, pending[stream]);
    if (cut)
      info(`(the first ${LOG_BYTES} bytes of ${name}'s log; all of it: ${ended.logs?.stdout ?? 'its stored log'})`);
  }
}
