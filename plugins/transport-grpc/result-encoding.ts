/**
 * Serializers for the publish results (`SendResult` of SendMessage, `BatchResult` of PublishBatch
 * and PublishStream): one result per published message, so in the batched relay they are a
 * hundred results per frame. Written with the transport's FrameWriter instead of the generated
 * `BatchResult.encode` (a BinaryWriter, a fork/join and a TextEncoder array per result); the bytes
 * are the same (test/transport/result-encoding.test.ts).
 */
import type { BatchResult, SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { FrameWriter, utf8Length as utf8LengthOf, varintLength as varintLengthOf } from './frame-writer';

/** Module-local copies: an imported binding is a getter per call through tsx (see event-encoding.ts). */
const utf8Length = utf8LengthOf;
const varintLength = varintLengthOf;

/** One writer for every result frame of the process: serializing is synchronous and never re-entered. */
const writer = new FrameWriter(8 * 1024);

export function serializeSendResult(result: SendResult): Buffer {
  writer.pos = 0;
  resultLength(result);
  writeResultFields(result);
  return writer.take();
}

export function serializeBatchResult(batch: BatchResult): Buffer {
  writer.pos = 0;
  const results = batch.results;
  for (let i = 0; i < results.length; i++) {
    const result = results[i];
    const length = resultLength(result);
    writer.varint(10);
    writer.varint(length);
    writeResultFields(result);
  }
  return writer.take();
}

/** UTF-8 lengths of the two strings, from `resultLength` to `writeResultFields` of the same result. */
let idLength = 0;
let messageLength = 0;

function resultLength(result: SendResult): number {
  let length = 0;
  idLength = result.messageId !== '' ? utf8Length(result.messageId) : 0;
  if (idLength !== 0) length += 1 + varintLength(idLength) + idLength;
  if (result.duplicate) length += 2;
  if (result.receivers !== 0) length += 1 + varintLength(result.receivers >>> 0);
  if (result.stored) length += 2;
  if (result.errorCode !== 0) length += 1 + int32Length(result.errorCode);
  messageLength = result.errorMessage !== '' ? utf8Length(result.errorMessage) : 0;
  if (messageLength !== 0) length += 1 + varintLength(messageLength) + messageLength;
  if (result.original !== 0) length += 1 + int32Length(result.original);
  return length;
}

/** The fields in the generated `SendResult.encode`'s order; right after `resultLength` of the same result. */
function writeResultFields(result: SendResult): void {
  if (idLength !== 0) {
    writer.varint(10);
    writer.stringOf(result.messageId, idLength);
  }
  if (result.duplicate) {
    writer.varint(16);
    writer.varint(1);
  }
  if (result.receivers !== 0) {
    writer.varint(24);
    writer.varint(result.receivers >>> 0);
  }
  if (result.stored) {
    writer.varint(32);
    writer.varint(1);
  }
  if (result.errorCode !== 0) {
    writer.varint(40);
    writer.varint(result.errorCode | 0);
  }
  if (messageLength !== 0) {
    writer.varint(50);
    writer.stringOf(result.errorMessage, messageLength);
  }
  if (result.original !== 0) {
    writer.varint(56);
    writer.varint(result.original | 0);
  }
}

/** A negative int32 is sign-extended to ten bytes, as protobuf writes it. */
function int32Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}
