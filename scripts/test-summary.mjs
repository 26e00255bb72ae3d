#!/usr/bin/env node
// The closing line of scripts/test: `tests: N passed, N failed`, read from vitest's JSON report,
// and only from the report of this run. A report that is missing (vitest crashed before writing
// it), unreadable, or older than the run's start (a leftover of an earlier run) prints no summary
// line: it says why on stderr and exits 1, so that the caller fails.
//
//   node scripts/test-summary.mjs REPORT STARTED_MS   (STARTED_MS: when the run began, ms since epoch)
import { readFileSync, statSync } from 'node:fs';

const [report, startedArg] = process.argv.slice(2);
const started = Number(startedArg);
if (!report || !Number.isFinite(started)) {
  console.error('usage: node scripts/test-summary.mjs REPORT STARTED_MS');
  process.exit(2);
}

const refuse = (why) => {
  console.error(`tests: no summary: ${why}`);
  process.exit(1);
};

let stat;
try {
  stat = statSync(report);
} catch {
  refuse(`${report} was not written by this run (vitest stopped before writing it)`);
}
// File times may be kept to the second only: compare whole seconds, so that a fresh report is
// never refused. The report's own start time below is exact.
if (Math.floor(stat.mtimeMs / 1000) < Math.floor(started / 1000)) {
  refuse(`${report} is older than this run (left by an earlier one)`);
}
let result;
try {
  result = JSON.parse(readFileSync(report, 'utf8'));
} catch (error) {
  refuse(`${report} is not a JSON report: ${error.message}`);
}
if (typeof result.startTime !== 'number' || result.startTime < started) {
  refuse(`${report} is the report of a run that began before this one`);
}
if (!Number.isInteger(result.numPassedTests) || !Number.isInteger(result.numFailedTests)) {
  refuse(`${report} has no test counts`);
}
console.log(`tests: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
