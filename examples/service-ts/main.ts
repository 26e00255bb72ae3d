// A service that starts actions with the typed client, as installed from the package: one action
// to its result, one cancelled while it runs, then the list of recent ones. Compiled with
// `tsc --strict`; prints one JSON line for whoever runs it.
import { ActionsClient, type ActionResult } from 'caisson/client';
import { ActionSpec, type ActionSpecInput } from 'caisson/spec';

const image = process.env.IMAGE ?? 'registry.example/team/tool:1';
const greet: ActionSpecInput = {
  image,
  command: ['sh', '-c', 'echo "{\\"greeting\\": \\"hello $NAME\\"}"'],
  env: { NAME: 'service' },
  output: 'json',
  timeout: '60s',
};
const long: ActionSpecInput = { image, command: ['sleep', '300'], timeout: '10m' };

async function main(): Promise<void> {
  const started = new Date();
  ActionSpec.parse(greet); // the same checks the client makes, available before connecting
  const client = await ActionsClient.connect(); // TEMPORAL_ADDRESS, CAISSON_TASK_QUEUE, CAISSON_CODEC_KEYS from the environment
  try {
    const done: ActionResult = await (await client.start(greet)).result();
    const running = await client.start(long);
    // Cancel once it runs (waiting 60 s at most): the container is stopped, /out still collected.
    for (let i = 0; i < 300 && (await running.status()).phase !== 'RUNNING'; i++)
      await new Promise((r) => setTimeout(r, 200));
    await running.cancel();
    const canceled = await running.result();
    // The list comes from Temporal's visibility store, a moment behind the workflows themselves.
    let listed = await client.list({ since: started, limit: 100 });
    for (let i = 0; i < 50 && !listed.some((a) => a.actionId === canceled.actionId && a.status === 'CANCELED'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      listed = await client.list({ since: started, limit: 100 });
    }
    console.log(
      JSON.stringify({
        done: { id: done.actionId, status: done.status, output: done.output },
        canceled: { id: canceled.actionId, status: canceled.status, reason: canceled.reason },
        listed: listed.map((a) => `${a.actionId} ${a.status}`),
      }),
    );
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
