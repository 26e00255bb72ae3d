// The product's own metrics, served with the SDK's runtime metrics on the worker's Prometheus endpoint.
import type { MetricMeter } from '@temporalio/common';

export function createMetrics(meter: MetricMeter) {
  return {
    finished: meter.createCounter('caisson_actions_finished', 'actions', 'Actions finished, by status and reason'),
    stepSeconds: meter.createHistogram('caisson_step_duration', 'float', 's', 'Duration of each step of an action'),
    bytesUploaded: meter.createCounter('caisson_bytes_uploaded', 'bytes', 'Bytes of /out and logs uploaded to S3'),
    containersRunning: meter.createGauge(
      'caisson_containers_running',
      'int',
      'containers',
      'Containers of this product running on this host',
    ),
    capacityInUse: meter.createGauge(
      'caisson_host_capacity_in_use',
      'int',
      'actions',
      'Action slots taken on this host',
    ),
    capacity: meter.createGauge('caisson_host_capacity', 'int', 'actions', 'Action slots this host offers'),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
