/**
 * The raw baseline: a bare @grpc/grpc-js server with the gateway's RPC shapes and none of its
 * logic (no auth, registry, ids, dedupe, wildcards, storage). It decodes requests and encodes
 * replies with the same generated codecs the gateway's transport uses, and like the transport it
 * encodes an Event once and writes the same bytes to every subscriber of a fan-out, so the ratio
 * gateway/baseline is the cost of the gateway itself on top of the transport work both must do.
 *
 * Run by bench/run.ts with an IPC channel; argv[2] is a JSON `{ host }`.
 */
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import {
  AgentHealth,
  AgentState,
  Event,
  GatewayServiceService,
  type AgentRecord,
  type AgentStatusRequest,
  type BatchResult,
  type DiscoverRequest,
  type Message,
  type MessageBatch,
  type SendResult,
  type SubscribeRequest,
} from '../proto/gen/openclaw/gateway/v1/gateway';
import { failStartup, serveHarness } from './server-ipc';

type Subscriber = ServerWritableStream<SubscribeRequest, Buffer>;

/** Subscribe writes pre-encoded Event bytes (encoded once per fan-out); everything else uses the codecs. */
const service = {
  ...GatewayServiceService,
  subscribe: { ...GatewayServiceService.subscribe, responseSerialize: (bytes: Buffer): Buffer => bytes },
};

const encodeEvent = (event: Event): Buffer => {
  const bytes = Event.encode(event).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** A subscriber further behind than this many events loses new ones, like the router's bounded queue. */
const MAX_QUEUED_EVENTS = 1024;

const subscribersByTopic = new Map<string, Set<Subscriber>>();
/** An agent's inbox shares the topic map under a key no topic can spell (topics are non-empty text). */
const inboxKey = (agentId: string) => `\u0000${agentId}`;
const routeKey = (message: Message) => (message.agentId ? inboxKey(message.agentId) : message.topic);

function relay(batch: MessageBatch): BatchResult {
  const results: SendResult[] = [];
  const messages = batch.messages;
  if (messages.length === 1) {
    const message = messages[0];
    const subscribers = subscribersByTopic.get(routeKey(message));
    let receivers = 0;
    if (subscribers) {
      const event = encodeEvent({
        kind: { $case: 'delivery', value: { message, deliveryTag: '', attempt: 1, subscription: message.topic, ackDeadlineMs: 0 } },
      });
      for (const subscriber of subscribers) {
        if (subscriber.writableLength >= MAX_QUEUED_EVENTS) continue;
        subscriber.write(event);
        receivers++;
      }
    }
    results.push(sendResult(message, receivers));
    return { results };
  }
  // Many messages in one frame: one Event batch per subscriber per topic, as a router would.
  const byTopic = new Map<string, Message[]>();
  for (const message of messages) {
    const list = byTopic.get(routeKey(message));
    if (list) list.push(message);
    else byTopic.set(routeKey(message), [message]);
  }
  const receiversByTopic = new Map<string, number>();
  for (const [topic, list] of byTopic) {
    const subscribers = subscribersByTopic.get(topic);
    let receivers = 0;
    if (subscribers) {
      const event = encodeEvent({
        kind: {
          $case: 'batch',
          value: { deliveries: list.map((message) => ({ message, deliveryTag: '', attempt: 1, subscription: topic, ackDeadlineMs: 0 })) },
        },
      });
      for (const subscriber of subscribers) {
        if (subscriber.writableLength >= MAX_QUEUED_EVENTS) continue;
        subscriber.write(event);
        receivers++;
      }
    }
    receiversByTopic.set(topic, receivers);
  }
  for (const message of messages) results.push(sendResult(message, receiversByTopic.get(routeKey(message)) ?? 0));
  return { results };
}

function sendResult(message: Message, receivers: number): SendResult {
  return { messageId: message.id, duplicate: false, receivers, stored: false, errorCode: 0, errorMessage: '', original: 0 };
}

/**
 * A record shaped like the gateway's answers in the registry scenario (a bench agent's info, tags
 * and capability), so Discover and GetAgentStatus encode as many bytes as the gateway's do: the
 * baseline pays the same encoding and HTTP/2 work, not an empty reply's.
 */
function cannedRecord(agentId: string, service: string): AgentRecord {
  const now = Date.now();
  return {
    info: {
      agentId,
      service,
      version: '1.1.0',
      tags: { zone: 'z1' },
      capabilities: ['summarize'],
      leaseTtlMs: 300_000,
      profile: undefined,
    },
    state: AgentState.AGENT_STATE_RUNNING,
    health: AgentHealth.AGENT_HEALTH_UNKNOWN,
    identity: 'anonymous',
    gatewayId: 'baseline',
    managed: false,
    registeredAtMs: now,
    leaseExpiresAtMs: now + 300_000,
    revision: 1,
  };
}

/** Discover answers `limit` records (10 in the scenario), at most 100. */
const MAX_CANNED_RECORDS = 100;

const unimplemented = (_call: unknown, callback?: (error: { code: number; message: string }) => void) =>
  callback?.({ code: status.UNIMPLEMENTED, message: 'not part of the baseline' });

const implementation = {
  subscribe(call: Subscriber) {
    const topics = call.request.topics.map((t) => t.pattern);
    if (call.request.agentId) topics.push(inboxKey(call.request.agentId));
    for (const topic of topics) {
      let set = subscribersByTopic.get(topic);
      if (!set) subscribersByTopic.set(topic, (set = new Set()));
      set.add(call);
    }
    const remove = () => {
      for (const topic of topics) subscribersByTopic.get(topic)?.delete(call);
    };
    call.on('cancelled', remove);
    call.on('close', remove);
    call.on('error', remove);
  },
  publishStream(call: ServerDuplexStream<MessageBatch, BatchResult>) {
    call.on('data', (batch: MessageBatch) => call.write(relay(batch)));
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
  publishBatch(call: { request: MessageBatch }, callback: (error: null, result: BatchResult) => void) {
    callback(null, relay(call.request));
  },
  sendMessage(call: { request: Message }, callback: (error: null, result: SendResult) => void) {
    callback(null, sendResult(call.request, 0));
  },
  registerAgent(call: { request: { agentId: string; leaseTtlMs: number } }, callback: (error: null, result: unknown) => void) {
    const { agentId, leaseTtlMs } = call.request;
    callback(null, { agentId, leaseTtlMs, leaseExpiresAtMs: Date.now() + leaseTtlMs, gatewayId: 'baseline', replaced: false });
  },
  discover(call: { request: DiscoverRequest }, callback: (error: null, result: unknown) => void) {
    const { service, limit } = call.request;
    const agents: AgentRecord[] = [];
    for (let i = 0; i < Math.min(limit || 10, MAX_CANNED_RECORDS); i++) agents.push(cannedRecord(`${service}-agent-${i}`, service));
    callback(null, { agents });
  },
  getAgentStatus(call: { request: AgentStatusRequest }, callback: (error: null, result: unknown) => void) {
    callback(null, { agent: cannedRecord(call.request.agentId, 'bench-svc') });
  },
  deregisterAgent: unimplemented,
  heartbeat: unimplemented,
  request: unimplemented,
  ack: unimplemented,
  healthCheck: unimplemented,
};

async function main(): Promise<void> {
  const { host = '127.0.0.1' } = JSON.parse(process.argv[2] ?? '{}') as { host?: string };
  const started = performance.now();
  const server = new Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  serveHarness(
    { address: `${host}:${port}`, startMs: performance.now() - started },
    () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
}

main().catch(failStartup);
