// Runs in a thread of its own (see output-check.ts): checks one output against one schema.
import { parentPort, workerData } from 'node:worker_threads';
import { schemaProblems } from '../../common/templates/json-schema.js';

const { schema, output } = workerData as { schema: unknown; output: unknown };
parentPort!.postMessage(schemaProblems(schema, output).slice(0, 100));
