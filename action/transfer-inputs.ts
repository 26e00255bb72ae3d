// The GitHub Action's inputs that move files between the job's workspace and the action: `upload`
// (workspace paths staged read-only into /in/<name>) and `download` (globs under out/, into
// `download-path`), each with a bound on its bytes. Checked with the other inputs, before anything
// starts or is sent.
import { parseBytes } from '../spec/quantity.js';
import type { Attempt, InputReader, Problems } from './input-values.js';

/** Default bounds: a step moves data for a job, not datasets (those belong in S3 as inputs). */
const DEFAULT_DOWNLOAD_MAX = '1Gi';
const DEFAULT_UPLOAD_MAX = '1Gi';
const DEFAULT_DOWNLOAD_PATH = 'caisson-out/';
/** A name under /in: one plain file name, as a key part and a container path both take it. */
const STAGED_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export interface TransferInputs {
  /** Workspace paths, each staged into /in/<its name>. */
  upload: string[];
  uploadMaxBytes: number;
  /** Globs inside /out ("out/" taken off); empty: no download. */
  download: string[];
  downloadPath: string;
  downloadMaxBytes: number;
}

/** The name a workspace path is staged under in /in: its last part. */
export function stagedName(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() ?? '';
}

function bytesInput(actions: InputReader, attempt: Attempt, name: string, fallback: string): number {
  const text = actions.getInput(name) || fallback;
  return (
    attempt(name, () => {
      const parsed = parseBytes(text);
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.value;
    }) ?? 0
  );
}

/** `out/PATTERN` as PATTERN inside /out: "out" or "out/" alone is all of it. */
function outGlob(line: string): string {
  if (line === 'out' || line === 'out/') return '**';
  if (!line.startsWith('out/')) throw new Error(`${JSON.stringify(line)}: a glob under out/, e.g. out/** or out/*.csv`);
  return line.slice('out/'.length);
}

export function readTransferInputs(actions: InputReader, attempt: Attempt, problems: Problems): TransferInputs {
  const lines = (name: string) => (actions.getInput(name) ? actions.getMultilineInput(name).filter(Boolean) : []);
  const upload = lines('upload');
  const names = new Set<string>();
  for (const path of upload) {
    const name = stagedName(path);
    if (!STAGED_NAME.test(name))
      problems.push({ input: 'upload', message: `${path}: its name "${name}" is not a plain file name for /in/` });
    else if (names.has(name)) problems.push({ input: 'upload', message: `${path}: a second path named ${name}` });
    names.add(name);
  }
  const download = lines('download').flatMap((line) => attempt('download', () => outGlob(line)) ?? []);
  return {
    upload,
    uploadMaxBytes: bytesInput(actions, attempt, 'upload-max-bytes', DEFAULT_UPLOAD_MAX),
    download,
    downloadPath: actions.getInput('download-path') || DEFAULT_DOWNLOAD_PATH,
    downloadMaxBytes: bytesInput(actions, attempt, 'download-max-bytes', DEFAULT_DOWNLOAD_MAX),
  };
}
