// The gauge of containers running on this host, sampled from the engine every few seconds: off
// the path of any action, so a slow engine never holds a run back.
import type Docker from 'dockerode';
import { LABEL } from '../activities/container/labels.js';
import type { Metrics } from '../activities/metrics.js';

const SAMPLE_EVERY_MS = 10_000;

/** Samples until the returned function is called; the timer never keeps a stopping process alive. */
export function startContainerGauge(docker: Docker, host: string, metrics: Metrics): () => void {
  const gauge = setInterval(() => {
    docker
      .listContainers({ filters: { label: [`${LABEL.host}=${host}`] } })
      .then((running) => metrics.containersRunning.set(running.length, { host }))
      .catch(() => {});
  }, SAMPLE_EVERY_MS);
  gauge.unref();
  return () => clearInterval(gauge);
}
