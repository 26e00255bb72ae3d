// What the engine itself recorded: its event log, read after the fact between two instants, so a
// test sees every start and exit in the engine's order instead of sampling and missing some.
import type Docker from 'dockerode';

export interface EngineEvent {
  action: string;
  id: string;
  time: number;
  labels: Record<string, string>;
}

export async function engineEvents(
  engine: Docker,
  since: number,
  labels: string[],
  events: string[] = ['start', 'die'],
  type: 'container' | 'image' = 'container',
): Promise<EngineEvent[]> {
  const stream = (await engine.getEvents({
    since: Math.floor(since / 1000) - 1,
    until: Math.ceil(Date.now() / 1000),
    filters: { type: [type], event: events, ...(labels.length ? { label: labels } : {}) },
  })) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return (
    text
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as {
            Action: string;
            id: string;
            timeNano: number;
            Actor: { Attributes: Record<string, string> };
          },
      )
      .map((e) => ({
        action: e.Action,
        id: e.id ?? (e as unknown as { Actor: { ID: string } }).Actor.ID,
        time: e.timeNano,
        labels: e.Actor.Attributes,
      }))
      // The engine filters by whole seconds: keep what happened at or after `since` exactly.
      .filter((e) => e.time >= since * 1e6)
  );
}

/** The most containers running at once, from start and die events in the engine's order. */
export function mostAtOnce(events: readonly EngineEvent[]): number {
  let running = 0;
  let most = 0;
  for (const e of events) {
    running += e.action === 'start' ? 1 : e.action === 'die' ? -1 : 0;
    most = Math.max(most, running);
  }
  return most;
}
