// How an execute shows its container's run in a trace, without depending on OpenTelemetry: the
// worker passes a tracer when CAISSON_OTEL is set (worker/tracing.ts); otherwise the run is not
// wrapped at all.
import type { RunOutcome } from '../../spec/result.js';

/** What a trace says about the run besides its outcome. */
interface ContainerRunAbout {
  actionId: string;
  attempt: number;
  image: string;
}

export interface ContainerRunTracer {
  /** Runs `run` inside a span of its own, which records how the container ended (its exit code). */
  traced(about: ContainerRunAbout, run: () => Promise<RunOutcome>): Promise<RunOutcome>;
}

export const untraced: ContainerRunTracer = { traced: (_about, run) => run() };
