#!/usr/bin/env node
import { loadWorkerConfig } from './config.js';
import { runWorker } from './run-worker.js';

try {
  await runWorker(loadWorkerConfig());
} catch (err) {
  process.stderr.write(`caisson worker: ${(err as Error).message}\n`);
  process.exit(1);
}
