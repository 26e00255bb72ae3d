// Specs, template definitions and inputs written as files: YAML or JSON (YAML reads JSON as well),
// bounded in size and in alias expansion, errors naming the file, line and column.
import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';

/** More than any spec can be (its JSON is at most 1.5 MiB): a file past this is refused unread. */
export const MAX_DATA_FILE_BYTES = 4 << 20;

export class DataFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataFileError';
  }
}

/** Parses YAML or JSON text; `name` is how errors call it. */
export function parseData(text: string, name: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    const said = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new DataFileError(`${name}${at ? `: line ${at.line}, column ${at.col}` : ''}: ${said}`);
  }
  try {
    // Aliases are expanded at most this often: a few bytes of YAML cannot become gigabytes.
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new DataFileError(`${name}: ${(err as Error).message}`);
  }
}

export async function readDataFile(path: string): Promise<unknown> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new DataFileError(
      `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (size > MAX_DATA_FILE_BYTES)
    throw new DataFileError(`${path}: ${size} bytes; at most ${MAX_DATA_FILE_BYTES} (put large data in an input)`);
  return parseData(await readFile(path, 'utf8'), path);
}
