/**
 * What `publish`, `send`, `request` and `subscribe` share: one GatewayService client on the target
 * of the shared flags (see gateway-channel.ts), the message flags (`--header`, `--durable`, ...),
 * the payload (an argument, or stdin when it is `-` or left out on a pipe) and how results print.
 */
import type { ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { GatewayServiceClient, Message, type SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AdminCallError, addAdminOptions, describeFailure, openChannel, type AdminFlags } from './admin-client';

export interface MessageFlags extends AdminFlags {
  header?: string[];
  id?: string;
  hashKey?: string;
  contentType?: string;
  ttl?: string;
  durable?: boolean;
}

/** The connection flags plus the flags that shape a message. */
export function addMessageOptions(command: Command): Command {
  return addAdminOptions(command)
    .option('-H, --header <name=value...>', 'message header (repeatable), e.g. traceparent=00-...')
    .option('--id <id>', 'message id (for deduplication); assigned by the gateway when left out')
    .option('--hash-key <key>', 'key for consistent-hash load balancing (Message.key)')
    .option('--content-type <type>', 'content type of the payload, e.g. application/json')
    .option('--ttl <ms>', "time to live; the router's default when left out");
}

/** A message from the flags and a payload; `destination` is exactly one of topic, agentId, service. */
export function messageFrom(flags: MessageFlags, destination: Partial<Message>, payload: Buffer): Partial<Message> {
  const ttlMs = flags.ttl === undefined ? 0 : Number(flags.ttl);
  if (!Number.isInteger(ttlMs) || ttlMs < 0) throw new AdminCallError(`--ttl: expected whole milliseconds >= 0 (got ${flags.ttl})`, 3);
  return {
    ...destination,
    payload,
    headers: parseHeaders(flags.header ?? []),
    id: flags.id ?? '',
    key: flags.hashKey ?? '',
    contentType: flags.contentType ?? '',
    durable: flags.durable ?? false,
    ttlMs,
  };
}

function parseHeaders(pairs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new AdminCallError(`--header ${pair}: expected name=value`, 3);
    headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return headers;
}

/** The payload argument; `-`, or nothing while stdin is a pipe or file, reads stdin to its end. */
export async function readPayload(argument: string | undefined): Promise<Buffer> {
  if (argument !== undefined && argument !== '-') return Buffer.from(argument, 'utf8');
  if (argument === undefined && process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type UnaryName = 'sendMessage' | 'request';
const RPC_NAMES: Record<UnaryName, string> = { sendMessage: 'SendMessage', request: 'Request' };

/** One GatewayService unary call within `--timeout`; failures as AdminCallError (`<RPC> failed: ...`). */
export async function callGateway<Response>(flags: AdminFlags, method: UnaryName, request: Partial<Message>): Promise<Response> {
  const channel = openChannel(flags);
  const client = new GatewayServiceClient(channel.target, channel.credentials, channel.options);
  try {
    return await new Promise<Response>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(client)
      const invoke = client[method] as unknown as (
        request: Partial<Message>,
        metadata: ReturnType<typeof channel.metadata>,
        options: { deadline: number },
        callback: (error: ServiceError | null, response: Response) => void,
      ) => void;
      invoke.call(
        client,
        Message.fromPartial(request),
        channel.metadata(),
        { deadline: Date.now() + channel.timeoutMs },
        (error, response) => {
          if (error) reject(describeFailure(error, RPC_NAMES[method], channel.target));
          else resolve(response);
        },
      );
    });
  } finally {
    client.close();
  }
}

/** `sent to service py-echo: id 0190… receivers 1 (stored)`, or the SendResult as JSON. */
export function printSendResult(flags: AdminFlags, verb: string, result: SendResult): void {
  if (flags.json) {
    console.log(JSON.stringify(result));
    return;
  }
  const notes = [result.stored ? 'stored' : '', result.duplicate ? 'duplicate' : ''].filter(Boolean);
  console.log(`${verb}: id ${result.messageId} receivers ${result.receivers}${notes.length ? ` (${notes.join(', ')})` : ''}`);
}

/** A message as one JSON line: the payload as UTF-8 text, and base64 too when it is not valid UTF-8. */
export function messageJson(message: Message, extra: Record<string, unknown> = {}): string {
  const text = message.payload.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(message.payload);
  return JSON.stringify({
    id: message.id,
    topic: message.topic,
    agentId: message.agentId || undefined,
    service: message.service || undefined,
    payload: text,
    ...(exact ? {} : { payloadBase64: message.payload.toString('base64') }),
    headers: Object.keys(message.headers).length ? message.headers : undefined,
    senderId: message.senderId || undefined,
    correlationId: message.correlationId || undefined,
    contentType: message.contentType || undefined,
    createdAtMs: Number(message.createdAtMs) || undefined,
    ...extra,
  });
}
