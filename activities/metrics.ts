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
    // What this host gives actions, by state="held" (by what runs) and state="free".
    hostCpuMillis: meter.createGauge('caisson_host_cpu_millis', 'int', 'millicores', 'CPU of this host, held and free'),
    hostMemoryBytes: meter.createGauge('caisson_host_memory_bytes', 'int', 'bytes', 'Memory, held and free'),
    hostDiskBytes: meter.createGauge('caisson_host_disk_bytes', 'int', 'bytes', 'Disk budgets, held and free'),
    hostGpus: meter.createGauge('caisson_host_gpus', 'int', 'GPUs', 'GPUs, held and free'),
    engineUp: meter.createGauge('caisson_engine_up', 'int', '', '1 while the container engine answers, else 0'),
    workerReady: meter.createGauge('caisson_worker_ready', 'int', '', '1 while /readyz says ready, else 0'),
    s3Errors: meter.createCounter(
      'caisson_s3_errors',
      'requests',
      'S3 requests that failed after their retries (a missing object is no error)',
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
