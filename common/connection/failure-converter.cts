// The failure converter of encrypted fleets (CAISSON_CODEC_KEYS set): a failure's message and stack
// trace move into a payload, which the codec then encrypts like any other, so history no longer
// shows them in clear (an output-not-json failure quotes the container's stdout). Readers with the
// key get them back as they were; SDK clients decode it whichever failure converter they use.
//
// CommonJS and nothing of Node, because two loaders take this file by path: Worker.create, which
// require()s DataConverter.failureConverterPath, and the workflow bundle (webpack), where workflow
// failures are converted and Node's built-ins are refused. Clients use an equal instance
// (common/connection/temporal-connection.ts).
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
