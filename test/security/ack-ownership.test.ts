/**
 * Issue #17.1: acks belong to their receiver. Over real gRPC, identity "mallory" tries to settle a
 * durable delivery made to identity "alice" — by naming alice's agent, by presenting the tag, by
 * guessing a tag — with ack, in-progress and nack; none of it touches the delivery, which alice
 * then acks herself. Tags end with 128 random bits. The same holds for router-nats (JetStream).
 */
import { status } from '@grpc/grpc-js';
import type { PluginEntry } from '../../kernel';
import { AckKind, type AckResult, type Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { natsEnv } from '../cluster/nats-env';
import { collect, eventually, failure, runPython, startSecuredGateway, type Client, type SecuredGateway } from './harness';

const TAG_SHAPE = /^[0-9a-f]+\.\d+\.\d+\.[A-Za-z0-9_-]{22}$/;

async function durableDelivery(gw: SecuredGateway, alice: Client, agentId: string, text: string) {
  await alice.call('registerAgent', { agentId, service: 'inbox-owner', version: '1.0.0' });
  const inbox = collect(alice.subscribe({ agentId }));
  await inbox.live;
  const sender = await gw.client('sender');
  await sender.call('sendMessage', { agentId, payload: Buffer.from(text), durable: true });
  const delivery = await eventually(() => deliveries(inbox.events)[0], 20_000, 'the durable delivery');
  return { inbox, tag: delivery.deliveryTag };
}

function deliveries(events: Event[]) {
  return events.flatMap((event) =>
    event.kind?.$case === 'delivery' ? [event.kind.value] : event.kind?.$case === 'batch' ? event.kind.value.deliveries : [],
  );
}

const ack = (client: Client, agentId: string, tag: string, kind: AckKind) =>
  client.call<AckResult>('ack', { agentId, acks: [{ deliveryTag: tag, kind, reason: kind === AckKind.ACK_KIND_NACK ? 'stolen' : '' }] });

async function attackAndRecover(gw: SecuredGateway, agentId: string): Promise<void> {
  const alice = await gw.client('alice');
  const mallory = await gw.client('mallory');
  await mallory.call('registerAgent', { agentId: `${agentId}-mallory`, service: 'thief', version: '1.0.0' });
  const { inbox, tag } = await durableDelivery(gw, alice, agentId, 'secret');
  expect(tag).toMatch(TAG_SHAPE);

  // Naming alice's agent is refused outright.
  const named = await failure(ack(mallory, agentId, tag, AckKind.ACK_KIND_ACK));
  expect(named.code).toBe(status.PERMISSION_DENIED);
  expect(named.details).toMatch(/agent_id: "mallory" may not ack for/);
  // With the right tag (leaked or guessed), from her own agent or none: `unknown`, nothing happens.
  for (const kind of [AckKind.ACK_KIND_ACK, AckKind.ACK_KIND_IN_PROGRESS, AckKind.ACK_KIND_NACK]) {
    for (const as of ['', `${agentId}-mallory`]) {
      expect((await ack(mallory, as, tag, kind)).outcomes).toEqual([{ deliveryTag: tag, result: 'unknown' }]);
    }
  }
  // A guessed tag (right shape, wrong secret) settles nothing, even for alice (router-nats calls
  // every tag of its own boot it does not hold `stale`, router-embedded `unknown`).
  const guessed = tag.replace(/[A-Za-z0-9_-]{22}$/, 'A'.repeat(22));
  expect(['unknown', 'stale']).toContain((await ack(alice, agentId, guessed, AckKind.ACK_KIND_ACK)).outcomes[0].result);
  // The delivery is still alice's, in flight on its first attempt: her ack settles it.
  expect((await ack(alice, agentId, tag, AckKind.ACK_KIND_ACK)).outcomes).toEqual([{ deliveryTag: tag, result: 'acked' }]);
  expect(deliveries(inbox.events)).toHaveLength(1);
  inbox.stream.cancel();
}

describe('acks belong to their receiver', () => {
  let gw: SecuredGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  test('router-embedded: another identity cannot ack, extend or nack a delivery, and tags are unguessable', async () => {
    gw = await startSecuredGateway();
    await attackAndRecover(gw, 'alice-embedded');
    // Two deliveries never share the random part of their tags.
    const alice = await gw.client('alice');
    const first = await durableDelivery(gw, alice, 'alice-two', 'one');
    const sender = await gw.client('sender');
    await sender.call('sendMessage', { agentId: 'alice-two', payload: Buffer.from('two'), durable: true });
    const both = await eventually(() => (deliveries(first.inbox.events).length >= 2 ? deliveries(first.inbox.events) : undefined));
    const secrets = both.map((delivery) => delivery.deliveryTag.split('.')[3]);
    expect(new Set(secrets).size).toBe(2);
    first.inbox.stream.cancel();
  }, 60_000);

  test('from Python: a tag handed to another identity is `unknown` and the delivery stays with its receiver', async () => {
    gw = await startSecuredGateway();
    const alice = await gw.client('alice');
    const { inbox, tag } = await durableDelivery(gw, alice, 'alice-py', 'for alice');
    const result = await runPython(
      `
channel = grpc.insecure_channel(ARGS["target"])
stub = pb_grpc.GatewayServiceStub(channel)
md = [("authorization", "Bearer " + ARGS["token"])]
out = {}
for name, kind in [("ack", pb.ACK_KIND_ACK), ("nack", pb.ACK_KIND_NACK), ("extend", pb.ACK_KIND_IN_PROGRESS)]:
    reply = stub.Ack(pb.AckRequest(acks=[pb.AckItem(delivery_tag=ARGS["tag"], kind=kind)]), metadata=md, timeout=10)
    out[name] = reply.outcomes[0].result
try:
    stub.Ack(pb.AckRequest(agent_id="alice-py", acks=[pb.AckItem(delivery_tag=ARGS["tag"], kind=pb.ACK_KIND_ACK)]), metadata=md, timeout=10)
    out["named"] = "OK"
except grpc.RpcError as error:
    out["named"] = error.code().name
print(json.dumps(out))
`,
      { target: gw.address, token: await gw.token('mallory'), tag },
    );
    expect(result).toEqual({ ack: 'unknown', nack: 'unknown', extend: 'unknown', named: 'PERMISSION_DENIED' });
    expect((await ack(alice, 'alice-py', tag, AckKind.ACK_KIND_ACK)).outcomes[0].result).toBe('acked');
    inbox.stream.cancel();
  }, 90_000);

  test('router-nats: the same refusals on JetStream-backed deliveries', async () => {
    const env = await natsEnv();
    try {
      const router: PluginEntry = { use: 'router-nats', options: { servers: [env.url], prefix: env.prefix } };
      gw = await startSecuredGateway({ router });
      await attackAndRecover(gw, 'alice-nats');
      await gw.close();
    } finally {
      gw = undefined;
      await env.close();
    }
  }, 90_000);
});
