// The pieces every command's --help shares: its examples, and the environment the CLI reads.

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

export const ENVIRONMENT_HELP = `
Environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, CAISSON_TASK_QUEUE, TEMPORAL_UI_URL;
  for every line of a log, read access to the artifacts bucket: AWS_ENDPOINT_URL_S3, AWS_REGION,
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (without them: the last lines the host reports).
  NO_COLOR turns colour off.`;
