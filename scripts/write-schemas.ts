// Writes the contract's JSON Schemas to schema/ (npm run schema), from spec/json-schemas.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { contractSchemas, schemaText } from '../spec/json-schemas.js';

const dir = fileURLToPath(new URL('../schema/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(contractSchemas())) {
  writeFileSync(`${dir}${name}`, schemaText(schema));
  console.log(`schema/${name}`);
}
