/**
 * The fast path of at-most-once topic messages across gateways, seen from outside: a PublishStream
 * frame of 1,000 messages on gateway A reaches a Subscribe stream on gateway B complete and in
 * order, while a raw nats.js subscriber on the core subject sees it as a few plain NATS messages
 * (topic frames, no JetStream: no headers, no reply subject, nothing in the topic stream). And the
 * publisher-side buffer is bounded: with a stalled nats-server (SIGSTOP: connected, confirming
 * nothing) at-most-once sends wait at most `publishBuffer.maxWaitMs` once `publishBuffer.maxBytes`
 * are unconfirmed, then get GW_UNAVAILABLE (limitReached, metrics) instead of piling up in memory;
 * with NATS gone likewise; once NATS confirms again they flow.
 */
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { LimitEvent, RouterService } from '../../kernel';
import { GatewayServiceClient, Message, type BatchResult, type MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { connect, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { caller, message } from '../router/helpers';
import { eventually, nextDelivery, startMember, type ClusterMember } from './helpers';
import { natsEnv, natsServerBinary, startPrivateServer, type NatsEnv, type PrivateNatsServer } from './nats-env';

const next = (subscription: Subscription<AgentDelivery>, timeoutMs = 20_000) => nextDelivery(subscription, timeoutMs);

describe('router-nats topic fast path across two gateways', () => {
  let env: NatsEnv;
  let a: ClusterMember;
  let b: ClusterMember;
  const agents: Agent[] = [];
  let client: GatewayServiceClient | undefined;
  beforeAll(async () => {
    env = await natsEnv();
    a = await startMember(env);
    b = await startMember(env);
  });
  afterAll(async () => {
    client?.close();
    await Promise.all(agents.map((agent) => agent.close({ deregister: false }).catch(() => undefined)));
    await Promise.all([a?.gw.stop(), b?.gw.stop()]);
    await env.close();
  });

  it('delivers a 1,000-message PublishStream frame on another gateway complete and in order, as a few plain core-NATS messages', async () => {
    const listener = connect(b.gw.address);
    const publisher = connect(a.gw.address);
    agents.push(listener, publisher);
    const subscription = await listener.subscribe('fast.>');
    // What NATS itself carries on the topic's core subject.
    const onNats: Array<{ bytes: number; headers: boolean; reply: string }> = [];
    const raw = env.nc.subscribe(`${env.prefix}.t.fast.>`, {
      callback: (error, msg) => {
        if (!error) onNats.push({ bytes: msg.data.length, headers: msg.headers !== undefined, reply: msg.reply ?? '' });
      },
    });
    await env.nc.flush();
    // B's interest reaches A; the warm-up messages are read before measuring.
    await eventually(async () => ((await publisher.publish('fast.warmup', 'w')).receivers > 0 ? true : undefined), 10_000, 'interest');
    expect((await next(subscription)).text()).toBe('w');
    await new Promise((resolve) => setTimeout(resolve, 200));

    client = new GatewayServiceClient(a.gw.address, credentials.createInsecure());
    const stream: ClientDuplexStream<MessageBatch, BatchResult> = client.publishStream();
    const answered = new Promise<BatchResult>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    const count = 1000;
    const natsBefore = onNats.length;
    stream.write({
      messages: Array.from({ length: count }, (_, i) => Message.fromPartial({ topic: 'fast.ticks', payload: Buffer.from(String(i)) })),
    });
    const result = await answered;
    stream.end();
    expect(result.results).toHaveLength(count);
    expect(result.results.every((r) => r.errorCode === 0 && !r.stored && r.receivers === 1)).toBe(true);

    const texts: string[] = [];
    while (texts.length < count) {
      const delivery = await next(subscription);
      if (delivery.text() !== 'w') texts.push(delivery.text());
    }
    expect(texts).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    await eventually(() => onNats.length > natsBefore, 5_000, 'the frame on the raw subscriber');
    const frames = onNats.slice(natsBefore);
    // One topic frame per run of one topic (cut below the server's max_payload): not 1,000 NATS messages.
    expect(frames.length).toBeLessThan(10);
    expect(frames.every((frame) => !frame.headers && frame.reply === '')).toBe(true);
    raw.unsubscribe();
    // Core NATS only: the durable topic stream kept nothing of it.
    const jsm = await env.nc.jetstreamManager();
    expect((await jsm.streams.info(`${env.prefix}_topics`)).state.messages).toBe(0);
    subscription.close();
  }, 60_000);
});

const maybe = natsServerBinary() ? describe : describe.skip;

maybe('router-nats publish buffer when NATS does not keep up', () => {
  let server: PrivateNatsServer;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    server = await startPrivateServer();
  });
  afterAll(async () => {
    server.child.kill('SIGCONT');
    if (server.child.exitCode !== null || server.child.signalCode !== null) await server.restart().catch(() => undefined);
    await gw?.stop();
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  /** Sends 8 KiB at-most-once topic messages until one is refused; how many were taken, and the refusal. */
  async function sendUntilRefused(router: RouterService, payload: string): Promise<{ accepted: number; refused: unknown }> {
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      try {
        await router.send(message({ topic: 'buffered.a', text: payload }), caller);
        accepted++;
      } catch (error) {
        return { accepted, refused: error };
      }
      // Past a turn: the turn's topic frames are handed to nats.js.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { accepted, refused: undefined };
  }

  it('holds at most publishBuffer.maxBytes unconfirmed by a stalled NATS, refuses with GW_UNAVAILABLE after maxWaitMs, and flows again', async () => {
    const prefix = `pb${randomBytes(4).toString('hex')}`;
    const nats = { servers: [server.url], prefix, reconnect: { waitMs: 100, jitterMs: 50 } };
    const maxBytes = 64 * 1024;
    gw = await startTestGateway({
      plugins: {
        registry: { use: 'registry-nats', options: nats },
        router: { use: 'router-nats', options: { ...nats, publishBuffer: { maxBytes, maxWaitMs: 300 } } },
      },
    });
    const router = gw.gateway.service('router')!;
    const limits: LimitEvent[] = [];
    gw.gateway.hooks.limitReached.tap('test', (event) => void limits.push(event));
    const payload = 'x'.repeat(8 * 1024);
    expect((await router.send(message({ topic: 'buffered.a', text: payload }), caller)).receivers).toBe(0);

    // A stalled server: the connection stays up, nothing is confirmed. Without a bound every
    // message would be taken into nats.js's buffer and the socket's.
    server.child.kill('SIGSTOP');
    const stalled = await sendUntilRefused(router, payload);
    expect(stalled.refused).toMatchObject({ code: 'GW_UNAVAILABLE' });
    // Refused on the send after the one that reached the bound (the check is on entry).
    expect(stalled.accepted).toBeLessThanOrEqual(maxBytes / payload.length + 1);
    expect(limits.some((event) => event.limit === 'router.publishBuffer.maxBytes')).toBe(true);
    const waits = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_nats_publish_waits_total');
    expect(waits).toMatch(/outcome="timeout"} [1-9]/);
    const held = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_nats_publish_buffer_bytes');
    expect(Number(/ (\d+)$/m.exec(held)?.[1])).toBeGreaterThanOrEqual(maxBytes);

    server.child.kill('SIGCONT');
    const resumed = await eventually(
      async () => router.send(message({ topic: 'buffered.a', text: 'again' }), caller).catch(() => undefined),
      20_000,
      'an at-most-once send to be taken once NATS confirms',
    );
    expect(resumed.duplicate).toBe(false);

    // NATS gone: nats.js would drop what it buffered at its next reconnect attempt, so nothing is taken.
    await server.stop();
    const away = await sendUntilRefused(router, payload);
    expect(away.refused).toMatchObject({ code: 'GW_UNAVAILABLE' });
    expect(away.accepted).toBeLessThanOrEqual(maxBytes / payload.length + 1);
    await server.restart();
    const after = await eventually(
      async () => router.send(message({ topic: 'buffered.a', text: 'again' }), caller).catch(() => undefined),
      20_000,
      'an at-most-once send to be taken after the restart',
    );
    expect(after.duplicate).toBe(false);
  }, 90_000);
});
