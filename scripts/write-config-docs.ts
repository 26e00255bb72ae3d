// Writes the worker settings table of docs/operating.md (npm run docs:config) from worker/config.ts:
// each variable, its default as the schema gives it and what it sets, between marker comments.
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SETTING_DOCS, WorkerConfig, type SettingDoc } from '../worker/config.js';

export const OPERATING_DOC = fileURLToPath(new URL('../docs/operating.md', import.meta.url));
export const BEGIN = '<!-- worker-settings:begin (written by npm run docs:config from worker/config.ts) -->';
export const END = '<!-- worker-settings:end -->';

const cell = (text: string) => text.replaceAll('|', '\\|');

/** A schema default written as an operator would set it. */
function asValue(value: unknown): string {
  if (Array.isArray(value)) return value.length ? `\`${value.join(',')}\`` : 'none';
  if (value && typeof value === 'object') {
    const pairs = Object.entries(value).map(([k, v]) => `${k}=${v}`);
    return pairs.length ? `\`${pairs.join(',')}\`` : 'none';
  }
  return `\`${String(value)}\``;
}

/** The default column: the schema's, or the documented text, which must agree when the schema reads it as a value. */
function defaultOf(name: string, doc: SettingDoc): string {
  const schema = WorkerConfig.shape[name as keyof typeof WorkerConfig.shape];
  const unset = schema?.safeParse(undefined);
  if (schema && !unset?.success) return 'required';
  const schemaDefault = unset?.data;
  if (doc.default === undefined) return schemaDefault === undefined ? '—' : asValue(schemaDefault);
  const read = schema?.safeParse(doc.default);
  if (schemaDefault !== undefined && read?.success && !isDeepStrictEqual(read.data, schemaDefault)) {
    throw new Error(`${name}: documented default ${doc.default} is not the schema's ${asValue(schemaDefault)}`);
  }
  return schemaDefault !== undefined && read?.success ? `\`${doc.default}\`` : doc.default;
}

export function settingsTable(docs: Record<string, SettingDoc> = SETTING_DOCS): string {
  const rows = Object.entries(docs).map(
    ([name, doc]) => `| \`${name}\` | ${cell(defaultOf(name, doc))} | ${cell(doc.about)} |`,
  );
  return ['| variable | default | what it sets |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The document with the text between the markers replaced by the table. */
export function withSettingsTable(document: string, table = settingsTable()): string {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/operating.md lacks the markers ${BEGIN} … ${END}`);
  return `${document.slice(0, begin + BEGIN.length)}\n${table}\n${document.slice(end)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPERATING_DOC, withSettingsTable(readFileSync(OPERATING_DOC, 'utf8')));
  console.log('docs/operating.md: worker settings table written');
}
