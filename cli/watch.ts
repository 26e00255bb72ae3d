// `--watch` for list and status: looks again every couple of seconds until Ctrl-C (or until what is
// watched has ended). On a terminal the screen is redrawn when anything changed; off a terminal
// (a pipe, a CI log) only the lines that changed are printed, one line per change.

const INTERVAL_MS = 2000;

export interface Frame {
  lines: string[];
  /** Per line, what counts as a change (an AGE column that ticks does not). */
  keys: string[];
  /** Nothing will change any more: stop watching. */
  final?: boolean;
}

export async function watch(
  look: () => Promise<Frame>,
  out: (text: string) => void,
  tty = Boolean(process.stdout.isTTY),
  intervalMs = INTERVAL_MS,
): Promise<void> {
  let shown = new Set<string>();
  let screen = '';
  for (;;) {
    const frame = await look();
    if (tty) {
      const text = frame.lines.join('\n');
      if (text !== screen) out(`\x1b[H\x1b[2J${text}`);
      screen = text;
    } else {
      frame.lines.forEach((line, i) => {
        if (!shown.has(frame.keys[i]!)) out(line);
      });
      shown = new Set(frame.keys);
    }
    if (frame.final) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
