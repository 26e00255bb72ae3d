// Colour only where a person reads it: on a terminal, and never when NO_COLOR is set (no-color.org).

function colourOn(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

/** Red text on `stream` when colour is on there; the text as it is otherwise. */
export function redFor(stream: NodeJS.WriteStream): (text: string) => string {
  return colourOn(stream) ? (text) => `\x1b[31m${text}\x1b[0m` : (text) => text;
}
