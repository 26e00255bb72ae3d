// The data converter with codec keys: a failure's message and stack trace leave the failure for an
// encrypted payload, and come back for a reader with the key. Without keys failures are as before.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, type LoadedDataConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { dataConverterFor } from '../../common/connection/temporal-connection.js';
import { ENCRYPTED_ENCODING } from '../../common/connection/payload-codec.js';

const keys = `k1:${randomBytes(32).toString('base64')}`;
const marker = 'stdout-marker-1234';

/** As a worker writes a failure: converted, then its payloads encoded by the codecs. */
async function written(converter: LoadedDataConverter, error: Error) {
  const failure = converter.failureConverter.errorToFailure(error, converter.payloadConverter);
  let attributes = failure.encodedAttributes ? [failure.encodedAttributes] : [];
  for (const codec of converter.payloadCodecs) attributes = await codec.encode(attributes);
  return { ...failure, encodedAttributes: attributes[0] };
}

describe('failures with codec keys', () => {
  it('keep neither message nor stack trace in clear', async () => {
    const failure = await written(
      dataConverterFor({ codecKeys: keys }),
      ApplicationFailure.create({ type: 'ActionFailed', message: `stdout is not JSON: ${marker}` }),
    );
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(failure.applicationFailureInfo?.type).toBe('ActionFailed');
    expect(Buffer.from(failure.encodedAttributes!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(failure.encodedAttributes!.data!).includes(marker)).toBe(false);
  });

  it('come back whole for a reader with the key', async () => {
    const converter = dataConverterFor({ codecKeys: keys });
    const failure = await written(converter, new Error(`boom ${marker}`));
    const [plain] = await converter.payloadCodecs[0]!.decode([failure.encodedAttributes!]);
    const error = converter.failureConverter.failureToError(
      { ...failure, encodedAttributes: plain },
      converter.payloadConverter,
    );
    expect(error.message).toBe(`boom ${marker}`);
    expect(error.stack).toContain('failure-encoding.test.ts');
  });

  it('are what a worker loads by path too (the workflow bundle and Worker.create)', async () => {
    const converter = dataConverterFor({ codecKeys: keys });
    expect(converter.failureConverterPath).toMatch(/common\/connection\/failure-converter\.cjs$/);
    const { failureConverter } = await import('../../common/connection/failure-converter.cjs');
    expect(failureConverter.options).toEqual({ encodeCommonAttributes: true });
  });
});

describe('failures without codec keys', () => {
  it('are as they were: message and stack trace in the failure', async () => {
    const converter = dataConverterFor({ codecKeys: undefined });
    const failure = await written(converter, new Error(`boom ${marker}`));
    expect(failure.message).toBe(`boom ${marker}`);
    expect(failure.encodedAttributes).toBeUndefined();
    expect(converter.failureConverterPath).toBeUndefined();
  });
});
