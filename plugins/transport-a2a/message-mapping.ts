/**
 * A2A messages ↔ gateway payloads.
 *
 * Agents without the capability `a2a` get what a plain agent can read: the text parts as UTF-8
 * (`text/plain`, data parts appended as JSON), or only data parts as `application/json`, or a
 * single file part as its bytes with its media type. Their reply becomes the agent's message:
 * `application/json` a data part, text (or no content type, valid UTF-8) a text part, anything
 * else a raw part with that media type.
 *
 * Agents declaring `a2a` get `application/a2a+json`: `{ message, taskId, contextId, task? }` in the
 * SDK's JSON form, and answer with one A2A `StreamResponse` JSON (task, message, statusUpdate or
 * artifactUpdate); events before the answer go to the topic named in the `a2a-events-topic` header.
 */
import { randomUUID } from 'node:crypto';
import { Message, Role, StreamResponse, Task, type Part } from '@a2a-js/sdk';
import { GatewayError } from '../../kernel';

export const A2A_CONTENT_TYPE = 'application/a2a+json';
export const A2A_CAPABILITY = 'a2a';

export interface Payload {
  payload: Buffer;
  contentType: string;
}

export function plainPayload(message: Message): Payload {
  const texts: string[] = [];
  const data: unknown[] = [];
  const files: Part[] = [];
  for (const part of message.parts) {
    const content = part.content;
    if (!content) continue;
    if (content.$case === 'text') texts.push(content.value);
    else if (content.$case === 'data') data.push(content.value);
    else if (content.$case === 'url') texts.push(content.value);
    else files.push(part);
  }
  if (texts.length > 0) {
    for (const value of data) texts.push(JSON.stringify(value));
    return { payload: Buffer.from(texts.join('\n'), 'utf8'), contentType: 'text/plain' };
  }
  if (data.length > 0)
    return { payload: Buffer.from(JSON.stringify(data.length === 1 ? data[0] : data), 'utf8'), contentType: 'application/json' };
  if (files.length === 1 && files[0].content?.$case === 'raw') {
    return { payload: Buffer.from(files[0].content.value), contentType: files[0].mediaType || 'application/octet-stream' };
  }
  throw new GatewayError(
    'GW_INVALID_ARGUMENT',
    'message.parts: needs a text, data or single file part for an agent without the a2a capability',
  );
}

export function a2aPayload(message: Message, taskId: string, contextId: string, task: Task | undefined): Payload {
  const body = { message: Message.toJSON(message), taskId, contextId, ...(task ? { task: Task.toJSON(task) } : {}) };
  return { payload: Buffer.from(JSON.stringify(body), 'utf8'), contentType: A2A_CONTENT_TYPE };
}

/** A plain agent's reply as the parts of the agent's message. */
export function replyParts(payload: Uint8Array, contentType: string): Part[] {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  if (type === 'application/json') {
    try {
      // JSON data parts carry any JSON value.
      const value = JSON.parse(bytes.toString('utf8')) as unknown;
      return [
        {
          content: { $case: 'data', value },
          mediaType: 'application/json',
          filename: '',
          metadata: undefined,
        },
      ];
    } catch {
      // not JSON after all: fall through to text
    }
  }
  const text = bytes.toString('utf8');
  const isText = type === '' || type.startsWith('text/') || type === 'application/json';
  if (isText && Buffer.byteLength(text, 'utf8') === bytes.length && !text.includes('\uFFFD')) {
    return [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }];
  }
  return [
    {
      content: { $case: 'raw', value: Buffer.from(bytes) },
      mediaType: type || 'application/octet-stream',
      filename: '',
      metadata: undefined,
    },
  ];
}

export function agentMessage(taskId: string, contextId: string, parts: Part[]): Message {
  return {
    messageId: randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** An a2a agent's event (answer or streamed), checked to be one StreamResponse for this task. */
export function parseAgentEvent(payload: Uint8Array, taskId: string): StreamResponse {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (error) {
    throw new GatewayError('GW_INVALID_ARGUMENT', `the agent's A2A event is not JSON: ${(error as Error).message}`);
  }
  const event = StreamResponse.fromJSON(json);
  const payloadCase = event.payload?.$case;
  if (!payloadCase)
    throw new GatewayError('GW_INVALID_ARGUMENT', "the agent's A2A event has none of task, message, statusUpdate, artifactUpdate");
  const eventTaskId = payloadCase === 'task' ? event.payload!.value.id : (event.payload!.value as { taskId: string }).taskId;
  if (eventTaskId !== '' && eventTaskId !== taskId)
    throw new GatewayError('GW_INVALID_ARGUMENT', `the agent's A2A event is for task "${eventTaskId}", not "${taskId}"`);
  return event;
}
