// Docker multiplexes stdout and stderr of a container without a TTY into one stream of frames:
// 8 header bytes (stream id, 3 zero bytes, big-endian payload length), then the payload.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type StreamName = 'stdout' | 'stderr';

/**
 * Splits a multiplexed stream, honouring back-pressure of each sink so that a slow upload slows
 * the reading instead of piling the log up in memory.
 */
export async function demux(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  sinks: Partial<Record<StreamName, Writable>>,
  onFrame?: (stream: StreamName, payload: Buffer) => void,
): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const stream: StreamName = pending[0] === 2 ? 'stderr' : 'stdout';
      const payload = pending.subarray(8, 8 + size);
      pending = pending.subarray(8 + size);
      onFrame?.(stream, payload);
      const sink = sinks[stream];
      if (sink && !sink.write(payload)) await once(sink, 'drain');
    }
  }
}

/** The last lines of a log, bounded in count and in line length, for heartbeats and results. */
export class LineTail {
  private readonly done: string[] = [];
  private readonly partial: Record<StreamName, string> = { stdout: '', stderr: '' };
  private readonly decoders: Record<StreamName, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };

  /**
   * `redact` masks secrets in a line before it is clipped, so that a secret is never shown cut in
   * half; the unfinished line keeps `window` characters more than it shows, to see a secret whole.
   */
  constructor(
    private readonly maxLines = 20,
    private readonly maxLineLength = 400,
    private readonly redact: (line: string) => string = (line) => line,
    private readonly window = 0,
  ) {}

  push(stream: StreamName, payload: Buffer): void {
    const parts = (this.partial[stream] + this.decoders[stream].write(payload)).split('\n');
    const open = parts.pop()!;
    // Masked before it is shortened: a secret cut by the shortening was already masked whole.
    this.partial[stream] =
      open.length > this.maxLineLength + this.window
        ? this.redact(open).slice(-(this.maxLineLength + this.window))
        : open;
    for (const line of parts) this.done.push(this.clip(this.redact(line)));
    if (this.done.length > this.maxLines) this.done.splice(0, this.done.length - this.maxLines);
  }

  lines(): string[] {
    const open = (['stdout', 'stderr'] as const)
      .map((s) => this.partial[s])
      .filter(Boolean)
      .map((l) => this.clip(this.redact(l)));
    return [...this.done, ...open].slice(-this.maxLines);
  }

  private clip(line: string): string {
    const clean = line.replace(/\r$/, '');
    return clean.length > this.maxLineLength ? `${clean.slice(0, this.maxLineLength)}…` : clean;
  }
}
