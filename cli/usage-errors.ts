// A usage mistake reads as one line naming what was wrong and the help that explains it:
//   caisson: unknown option '--frob' (see 'caisson run --help')
import type { Command } from 'commander';

/** "caisson host list": the command as typed. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function usageLine(message: string, cmd: Command): string {
  const said = message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return `${commandPath(cmd).split(' ')[0]}: ${said} (see '${commandPath(cmd)} --help')`;
}
