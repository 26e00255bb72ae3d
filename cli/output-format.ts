// `-o json|yaml|wide|name` (and `--json`, its old spelling) for the commands that list or show
// things: one way to ask for machine-readable output, and one table shape for people.
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { UsageError } from './spec-from-flags.js';
import { table } from './table.js';

const FORMATS = ['table', 'json', 'yaml', 'wide', 'name'] as const;
export type Format = (typeof FORMATS)[number];

export function addFormatOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-o, --output <format>', 'json, yaml, wide (more columns) or name (ids only)'))
    .option('--json', 'the same as -o json');
}

export function formatOf(opts: { output?: string; json?: boolean }): Format {
  if (opts.json) {
    if (opts.output !== undefined && opts.output !== 'json')
      throw new UsageError(`--json and -o ${opts.output} exclude each other`);
    return 'json';
  }
  const format = opts.output ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`-o ${format}: use json, yaml, wide or name`);
  return format as Format;
}

/** JSON has no Infinity (an unbounded host total): it is written as null. */
const toJson = (data: unknown) => JSON.stringify(data, (_k, v: unknown) => (v === Infinity ? null : v), 2);

/** The data as JSON or YAML; undefined for the formats people read. */
export function serialized(data: unknown, format: Format): string | undefined {
  if (format === 'json') return toJson(data);
  if (format === 'yaml') return stringify(JSON.parse(toJson(data)) as unknown).trimEnd();
  return undefined;
}

/** How a list of things shows as a table: its columns, the extra ones of `-o wide`, its name. */
export interface Columns<T> {
  header: string[];
  row: (item: T, now: number) => string[];
  wide?: { header: string[]; row: (item: T, now: number) => string[] };
  name: (item: T) => string;
}

/** The lines a list prints in a format: a serialization, names, or aligned columns. */
export function renderList<T>(items: T[], format: Format, columns: Columns<T>, now = Date.now()): string[] {
  const text = serialized(items, format);
  if (text !== undefined) return [text];
  if (format === 'name') return items.map(columns.name);
  const wide = format === 'wide' && columns.wide;
  return table(
    wide ? [...columns.header, ...wide.header] : columns.header,
    items.map((item) => (wide ? [...columns.row(item, now), ...wide.row(item, now)] : columns.row(item, now))),
  );
}
