// The host's answer to a request it will not carry out: anything on a host queue may come from any
// worker of the namespace, so a request the host cannot trust ends at once, naming the field.
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../spec/failures.js';

const REFUSED_BY_HOST = FailureType.RefusedByHost;

/** A non-retryable refusal: `field` is the request's (or the spec's) field, `why` what was wrong with it. */
export function refusedByHost(host: string, field: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: REFUSED_BY_HOST,
    nonRetryable: true,
    message: `refused by host ${host}: ${field}: ${why}`,
    details: [{ field }],
  });
}
