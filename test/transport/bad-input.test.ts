/**
 * Every RPC given bad input answers with the right gRPC status, a `GW_*` code (message prefix and
 * `gw-error-code` trailer) and a message naming the field to fix.
 */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  AdminServiceClient,
  GatewayServiceClient,
  Message,
  type MessageBatch,
  type BatchResult,
  type Event,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from './grpc-call';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

function message(overrides: Partial<Message>): Message {
  return Message.fromPartial(overrides);
}

const info = (overrides: object) => ({
  agentId: 'a-1',
  service: 'svc',
  version: '1.0.0',
  tags: {},
  capabilities: [],
  leaseTtlMs: 0,
  ...overrides,
});
const discover = (overrides: object) => ({
  service: '',
  versionRange: '',
  tags: {},
  capabilities: [],
  routableOnly: false,
  limit: 0,
  ...overrides,
});

function expectRefusal(error: unknown, status: number, code: string, field: string): void {
  const serviceError = error as ServiceError;
  expect(serviceError.code).toBe(status);
  expect(serviceError.details.startsWith(`${code}: ${field}`)).toBe(true);
  expect(serviceError.metadata.get('gw-error-code')).toEqual([code]);
}

describe('bad input on every RPC', () => {
  let gw: TestGateway;
  let client: GatewayServiceClient;
  let admin: AdminServiceClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    admin = new AdminServiceClient(`unix:${gw.socketPath}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    admin?.close();
    await gw?.stop();
  });

  const fail = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: unknown) => e,
    );

  it.each([
    ['RegisterAgent missing service', 'registerAgent', info({ service: '' }), 'agent.service'],
    ['RegisterAgent bad service', 'registerAgent', info({ service: 'Has Space' }), 'agent.service'],
    ['RegisterAgent bad agent id', 'registerAgent', info({ agentId: 'no/slash' }), 'agent.agent_id'],
    ['RegisterAgent bad semver', 'registerAgent', info({ version: 'one' }), 'agent.version'],
    ['RegisterAgent missing version', 'registerAgent', info({ version: '' }), 'agent.version'],
    ['RegisterAgent empty capability', 'registerAgent', info({ capabilities: [''] }), 'agent.capabilities[0]'],
    ['DeregisterAgent missing id', 'deregisterAgent', { agentId: '', reason: '' }, 'agent_id'],
    ['Heartbeat bad id', 'heartbeat', { agentId: 'a b' }, 'agent_id'],
    ['Discover bad range', 'discover', discover({ versionRange: 'not a range!' }), 'query.version_range'],
    ['Discover bad service', 'discover', discover({ service: '-x' }), 'query.service'],
    ['GetAgentStatus missing id', 'getAgentStatus', { agentId: '' }, 'agent_id'],
    ['SendMessage no target', 'sendMessage', message({}), 'message.topic'],
    ['SendMessage two targets', 'sendMessage', message({ topic: 't', agentId: 'a' }), 'message.target'],
    ['SendMessage wildcard topic', 'sendMessage', message({ topic: 'orders.*' }), 'message.topic'],
    ['SendMessage empty token', 'sendMessage', message({ topic: 'orders..x' }), 'message.topic'],
    ['SendMessage range without service', 'sendMessage', message({ topic: 'x', versionRange: '^1' }), 'message.version_range'],
    ['SendMessage bad range', 'sendMessage', message({ service: 'svc', versionRange: '~~' }), 'message.version_range'],
    ['SendMessage bad reply_to', 'sendMessage', message({ topic: 'x', replyTo: 'elsewhere' }), 'message.reply_to'],
    ['SendMessage bad sender', 'sendMessage', message({ topic: 'x', senderId: 'bad sender' }), 'message.sender_id'],
    ['SendMessage too many hops', 'sendMessage', message({ topic: 'x', maxHops: 10_000 }), 'message.max_hops'],
    ['PublishBatch empty', 'publishBatch', { messages: [] }, 'messages'],
    ['Request no target', 'request', message({}), 'message.topic'],
    ['Request bad agent id', 'request', message({ agentId: 'x y' }), 'message.agent_id'],
    ['Ack no items', 'ack', { agentId: '', acks: [] }, 'acks'],
    ['Ack empty tag', 'ack', { agentId: '', acks: [{ deliveryTag: '', kind: 0, reason: '' }] }, 'acks[0].delivery_tag'],
    ['HealthCheck probe without agent', 'healthCheck', { agentId: '', probeId: 'p1' }, 'agent_id'],
    ['HealthCheck bad agent id', 'healthCheck', { agentId: '?', probeId: '' }, 'agent_id'],
  ] as const)('%s → INVALID_ARGUMENT naming %s', async (_name, method, request, field) => {
    expectRefusal(await fail(unary(client, method as any, request as any)), INVALID_ARGUMENT, 'GW_INVALID_ARGUMENT', field);
  });

  it.each([
    ['GetAgentStatus', 'getAgentStatus', { agentId: 'ghost' }],
    ['Heartbeat', 'heartbeat', { agentId: 'ghost' }],
    ['DeregisterAgent', 'deregisterAgent', { agentId: 'ghost', reason: '' }],
    ['HealthCheck', 'healthCheck', { agentId: 'ghost', probeId: '' }],
  ] as const)('%s for an unknown agent → NOT_FOUND naming agent_id', async (_name, method, request) => {
    expectRefusal(await fail(unary(client, method as any, request as any)), NOT_FOUND, 'GW_NOT_FOUND', 'agent_id');
  });

  it('Subscribe: bad patterns, nothing to subscribe to, unknown inbox', async () => {
    const subscribe = (request: object) =>
      new Promise<ServiceError>((resolve, reject) => {
        const call = client.subscribe({ agentId: '', topics: [], registryEvents: false, maxBatch: 0, ...request });
        call.on('data', (event: Event) => reject(new Error(`unexpected event ${JSON.stringify(event)}`)));
        call.on('metadata', () => undefined);
        call.on('error', resolve);
      });
    expectRefusal(
      await subscribe({ topics: [{ pattern: 'a.>.b', queueGroup: '' }] }),
      INVALID_ARGUMENT,
      'GW_INVALID_ARGUMENT',
      'topics[0].pattern',
    );
    expectRefusal(
      await subscribe({
        topics: [
          { pattern: 'ok', queueGroup: '' },
          { pattern: '', queueGroup: '' },
        ],
      }),
      INVALID_ARGUMENT,
      'GW_INVALID_ARGUMENT',
      'topics[1].pattern',
    );
    expectRefusal(
      await subscribe({ topics: [{ pattern: 'ok', queueGroup: 'bad group' }] }),
      INVALID_ARGUMENT,
      'GW_INVALID_ARGUMENT',
      'topics[0].queue_group',
    );
    expectRefusal(await subscribe({}), INVALID_ARGUMENT, 'GW_INVALID_ARGUMENT', 'topics');
    expectRefusal(await subscribe({ agentId: 'nobody' }), NOT_FOUND, 'GW_NOT_FOUND', 'agent_id');
  });

  it('PublishStream: a batch over the limit ends the stream with INVALID_ARGUMENT; valid batches get results in order', async () => {
    const call = client.publishStream();
    const results: BatchResult[] = [];
    const ended = new Promise<ServiceError>((resolve) => {
      call.on('data', (result: BatchResult) => results.push(result));
      call.on('error', resolve);
    });
    const ok: MessageBatch = { messages: [message({ topic: 'stream.a' }), message({ topic: 'stream.b' })] };
    call.write(ok);
    call.write({ messages: Array.from({ length: 1001 }, () => message({ topic: 'stream.c' })) });
    expectRefusal(await ended, INVALID_ARGUMENT, 'GW_INVALID_ARGUMENT', 'messages');
    expect(results).toHaveLength(1);
    expect(results[0].results.map((r) => r.errorCode)).toEqual([0, 0]);
  });

  it('AdminService: bad agent ids are INVALID_ARGUMENT; managed actions need a supervisor (UNIMPLEMENTED)', async () => {
    expectRefusal(await fail(unary(admin, 'restartAgent', { agentId: '' })), INVALID_ARGUMENT, 'GW_INVALID_ARGUMENT', 'agent_id');
    expectRefusal(
      await fail(unary(admin, 'upgradeAgent', { agentId: 'x', command: '', args: [], version: 'v-one' })),
      INVALID_ARGUMENT,
      'GW_INVALID_ARGUMENT',
      'version',
    );
    expectRefusal(await fail(unary(admin, 'pushPolicy', { json: '' })), INVALID_ARGUMENT, 'GW_INVALID_ARGUMENT', 'json');
    const unimplemented = (await fail(unary(admin, 'stopAgent', { agentId: 'x' }))) as ServiceError;
    expect(unimplemented.code).toBe(UNIMPLEMENTED);
    const status = await unary(admin, 'gatewayStatus', {});
    expect(status.gatewayId).toBe(gw.gateway.info.id);
    expect(status.stage).toBe('ready');
    expect(status.addresses).toEqual(expect.arrayContaining([gw.address, `unix:${gw.socketPath}`]));
    expect(status.plugins.map((p) => p.kind)).toEqual(expect.arrayContaining(['registry', 'router', 'auth', 'transport']));
  });
});
