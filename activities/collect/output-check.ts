// An action's output checked against its spec's outputSchema. The schema comes from whoever started
// the action, so the check runs in a thread of its own with a time limit: a schema built to be slow
// (a pattern that backtracks without end) costs that thread, never the worker's event loop.
import { Worker } from 'node:worker_threads';
import type { SchemaProblem } from '../../common/templates/json-schema.js';

const OUTPUT_CHECK_MS = 5_000;

export function outputProblems(schema: unknown, output: unknown, limitMs = OUTPUT_CHECK_MS): Promise<SchemaProblem[]> {
  return new Promise((resolve) => {
    const thread = new Worker(new URL('./output-check-thread.js', import.meta.url), {
      workerData: { schema, output },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const timer = setTimeout(() => {
      void thread.terminate();
      resolve([
        {
          pointer: '',
          message: `checking the output against outputSchema took longer than ${limitMs / 1000} s (a pattern that backtracks?); the output was not accepted`,
        },
      ]);
    }, limitMs);
    thread.once('message', (problems: SchemaProblem[]) => {
      clearTimeout(timer);
      void thread.terminate();
      resolve(problems);
    });
    thread.once('error', (err) => {
      clearTimeout(timer);
      resolve([{ pointer: '', message: `the output could not be checked against outputSchema: ${err.message}` }]);
    });
  });
}
