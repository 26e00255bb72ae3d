"""Start a Caisson action from Python with the Temporal SDK alone, and print its result as JSON.

The contract: workflow type "runAction" on the fleet's task queue, arguments [{"spec": SPEC}, {}]
(schema/run-action-input.schema.json and schema/fleet-options.schema.json), the workflow id is the
action id. It returns the result (schema/action-result.schema.json) when the action is DONE; a
FAILED action fails the workflow with an application error of type "ActionFailed" whose first
detail is the same result. With CAISSON_CODEC_KEYS set, payloads are AES-256-GCM encrypted exactly
as the TypeScript side does it (common/payload-codec.ts), so both read each other's payloads.

    python start_action.py SPEC.json [ACTION_ID]

Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"),
CAISSON_TASK_QUEUE (default "caisson"), CAISSON_CODEC_KEYS ("id:base64key,...", optional).
"""

import asyncio
import base64
import dataclasses
import json
import os
import sys
import uuid
from typing import List, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.converter import PayloadCodec, default
from temporalio.exceptions import ApplicationError

ENCRYPTED = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class CaissonCodec(PayloadCodec):
    """The first key encrypts; any listed key decrypts; plain payloads pass through."""

    def __init__(self, keys_text: str) -> None:
        self.keys = []
        for pair in keys_text.split(","):
            key_id, _, key = pair.strip().partition(":")
            self.keys.append((key_id, AESGCM(base64.b64decode(key))))
        self.by_id = dict(self.keys)

    async def encode(self, payloads: Sequence[Payload]) -> List[Payload]:
        key_id, aead = self.keys[0]
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # AESGCM appends the 16-byte tag: nonce + ciphertext + tag, as the TypeScript codec writes.
            data = nonce + aead.encrypt(nonce, payload.SerializeToString(), None)
            sealed.append(Payload(metadata={"encoding": ENCRYPTED, KEY_ID: key_id.encode()}, data=data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> List[Payload]:
        plain = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCRYPTED:
                plain.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            if key_id not in self.by_id:
                raise ValueError(f'payload encrypted with key "{key_id}", which CAISSON_CODEC_KEYS does not hold')
            data = payload.data
            decoded = Payload()
            decoded.ParseFromString(self.by_id[key_id].decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None))
            plain.append(decoded)
        return plain


async def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    action_id = sys.argv[2] if len(sys.argv) > 2 else f"action-{uuid.uuid4()}"
    keys = os.environ.get("CAISSON_CODEC_KEYS", "").strip()
    converter = dataclasses.replace(default(), payload_codec=CaissonCodec(keys)) if keys else default()
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
        data_converter=converter,
    )
    handle = await client.start_workflow(
        "runAction",
        args=[{"spec": spec}, {}],
        id=action_id,
        task_queue=os.environ.get("CAISSON_TASK_QUEUE", "caisson"),
        # As the TypeScript client sets them, so that lists and the UI filter this action from the start.
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword("ActionStatus"), "PENDING"),
                SearchAttributePair(SearchAttributeKey.for_keyword("ActionImage"), spec["image"]),
            ]
        ),
    )
    try:
        result = await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if not (isinstance(cause, ApplicationError) and cause.type == "ActionFailed" and cause.details):
            raise
        result = cause.details[0]
    print(json.dumps(result))
    return 0 if result["status"] == "DONE" else 1


if __name__ == "__main__":
    code = asyncio.run(main())
    # Leave without the interpreter's teardown: the SDK's native runtime keeps threads that can
    # touch the interpreter while it finalizes, which aborts a short-lived client process now and
    # then ("Fatal Python error: PyGILState_Release", a known open issue of the Python SDK) after
    # its work is done. Everything printed is flushed first.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
