import { describe, expect, it } from 'vitest';
import { hostQueue, loadWorkerConfig } from '../../worker/config.js';

describe('worker configuration', () => {
  it('fills defaults and splits lists', () => {
    const config = loadWorkerConfig({
      CAISSON_ARTIFACTS_BUCKET: 'artifacts',
      CAISSON_HOST: 'gpu-1',
      CAISSON_ALLOWED_IMAGES: 'r.example:5000/team/*, r.example:5000/tools/x',
    });
    expect(config).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      CAISSON_TASK_QUEUE: 'caisson',
      CAISSON_CAPACITY: 2,
      CAISSON_ALLOWED_IMAGES: ['r.example:5000/team/*', 'r.example:5000/tools/x'],
    });
    expect(hostQueue(config.CAISSON_TASK_QUEUE, config.CAISSON_HOST)).toBe('caisson@gpu-1');
  });

  it('names every bad variable and what to write instead', () => {
    let message = '';
    try {
      loadWorkerConfig({ CAISSON_CAPACITY: 'many', TEMPORAL_ADDRESS: 'nohost', AWS_ENDPOINT_URL_S3: 'not a url' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('CAISSON_CAPACITY: CAISSON_CAPACITY must be a number');
    expect(message).toContain('TEMPORAL_ADDRESS: host:port, e.g. 127.0.0.1:7233');
    expect(message).toContain('AWS_ENDPOINT_URL_S3: a URL such as http://127.0.0.1:9000');
    expect(message).toContain('CAISSON_ARTIFACTS_BUCKET: required: the S3 bucket that receives artifacts');
  });

  it("reads the host's address and its gang ports, 30000-30999 unless set", () => {
    const base = { CAISSON_ARTIFACTS_BUCKET: 'artifacts' };
    expect(loadWorkerConfig(base)).toMatchObject({ CAISSON_GANG_PORTS: [30000, 30999] });
    expect(loadWorkerConfig(base).CAISSON_HOST_ADDRESS).toBeUndefined();
    expect(
      loadWorkerConfig({ ...base, CAISSON_HOST_ADDRESS: '198.18.0.2', CAISSON_GANG_PORTS: '40000-40009' }),
    ).toMatchObject({ CAISSON_HOST_ADDRESS: '198.18.0.2', CAISSON_GANG_PORTS: [40000, 40009] });
    for (const ports of ['40009-40000', '0-10', '30000-70000', '30000', 'a-b']) {
      expect(() => loadWorkerConfig({ ...base, CAISSON_GANG_PORTS: ports })).toThrow(
        `CAISSON_GANG_PORTS: "${ports}": write from-to`,
      );
    }
    expect(() => loadWorkerConfig({ ...base, CAISSON_HOST_ADDRESS: 'a b' })).toThrow(
      'CAISSON_HOST_ADDRESS: an IP address',
    );
  });
});
