import { GatewayError } from '../../kernel';
import { caller, message, RecordingSink, settle, startRouterGateway, waitFor, type RouterGateway } from './helpers';

describe('router-embedded: topics, wildcards and queue groups', () => {
  let env: RouterGateway;
  beforeEach(async () => {
    env = await startRouterGateway();
  });
  afterEach(async () => {
    await env.gw.stop();
  });

  test('"*" matches exactly one token and ">" one or more trailing tokens', async () => {
    const star = new RecordingSink();
    const rest = new RecordingSink();
    const exact = new RecordingSink();
    env.router.openSession(star, { caller }).subscribe({ pattern: 'orders.*.created' });
    env.router.openSession(rest, { caller }).subscribe({ pattern: 'orders.>' });
    env.router.openSession(exact, { caller }).subscribe({ pattern: 'orders.eu.created' });

    for (const topic of ['orders.eu.created', 'orders.us.created', 'orders.eu.created.late', 'orders', 'orders.eu', 'billing.eu.created']) {
      await env.router.send(message({ topic, text: topic }), caller);
    }
    await settle();
    expect(star.texts()).toEqual(['orders.eu.created', 'orders.us.created']);
    expect(rest.texts()).toEqual(['orders.eu.created', 'orders.us.created', 'orders.eu.created.late', 'orders.eu']);
    expect(exact.texts()).toEqual(['orders.eu.created']);
    expect(star.deliveries[0].subscription).toBe('orders.*.created');
  });

  test('unsubscribe and session close stop deliveries', async () => {
    const sink = new RecordingSink();
    const session = env.router.openSession(sink, { caller });
    session.subscribe({ pattern: 'a.b' });
    await env.router.send(message({ topic: 'a.b', text: '1' }), caller);
    session.unsubscribe('a.b');
    const after = await env.router.send(message({ topic: 'a.b', text: '2' }), caller);
    expect(after.receivers).toBe(0);
    session.subscribe({ pattern: 'a.*' });
    session.close('done');
    expect((await env.router.send(message({ topic: 'a.b', text: '3' }), caller)).receivers).toBe(0);
    await settle();
    expect(sink.texts()).toEqual(['1']);
  });

  test('each message of a queue group goes to exactly one member, spread over members', async () => {
    const members = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    for (const sink of members) env.router.openSession(sink, { caller }).subscribe({ pattern: 'jobs.>', queueGroup: 'workers' });
    const plain = new RecordingSink();
    env.router.openSession(plain, { caller }).subscribe({ pattern: 'jobs.>' });

    for (let i = 0; i < 30; i++) {
      const outcome = await env.router.send(message({ topic: 'jobs.run', text: String(i) }), caller);
      expect(outcome.receivers).toBe(2); // one group member + the plain subscriber
    }
    await settle();
    const received = members.flatMap((m) => m.texts());
    expect(received.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    for (const member of members) expect(member.texts()).toHaveLength(10);
    expect(plain.texts()).toHaveLength(30);
  });

  test('a fan-out hands the same Delivery object to every subscriber of a pattern', async () => {
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    for (const sink of sinks) env.router.openSession(sink, { caller }).subscribe({ pattern: 'news.*' });
    await env.router.send(message({ topic: 'news.today', text: 'hello' }), caller);
    await settle();
    const deliveries = sinks.map((s) => s.deliveries[0]);
    expect(deliveries[0]).toBeDefined();
    expect(deliveries[1]).toBe(deliveries[0]);
    expect(deliveries[2]).toBe(deliveries[0]);
  });

  test('a burst is written in batches and an idle subscriber gets events without waiting for more', async () => {
    const sink = new RecordingSink();
    env.router.openSession(sink, { caller }).subscribe({ pattern: 'burst' });
    await env.router.sendBatch(
      Array.from({ length: 10 }, (_, i) => message({ topic: 'burst', text: String(i) })),
      caller,
    );
    await settle();
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]).toHaveLength(10);

    await env.router.send(message({ topic: 'burst', text: 'alone' }), caller);
    await waitFor(() => sink.texts().includes('alone'), 1000, 'single event');
    expect(sink.writes).toHaveLength(2);
  });

  test('order is kept per publisher per topic', async () => {
    const sink = new RecordingSink();
    env.router.openSession(sink, { caller }).subscribe({ pattern: 'seq.>' });
    for (let i = 0; i < 200; i++) void env.router.send(message({ topic: i % 2 ? 'seq.odd' : 'seq.even', text: String(i) }), caller);
    await settle();
    const texts = sink.texts().map(Number);
    expect(texts).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test.each([
    ['empty token', 'orders..created', 'message.topic'],
    ['leading dot', '.orders', 'message.topic'],
    ['trailing dot', 'orders.', 'message.topic'],
    ['wildcard in publish', 'orders.*', 'message.topic'],
    ['too deep', Array.from({ length: 17 }, () => 'a').join('.'), 'message.topic'],
    ['too long', 'x'.repeat(300), 'message.topic'],
    ['whitespace', 'orders created', 'message.topic'],
  ])('publishing to a bad topic (%s) is rejected with GW_INVALID_ARGUMENT', async (_name, topic, field) => {
    const error = await env.router.send(message({ topic }), caller).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('GW_INVALID_ARGUMENT');
    expect((error as GatewayError).field).toBe(field);
    expect((error as GatewayError).message).toContain(field);
  });

  test.each([
    ['">" not last', 'orders.>.created'],
    ['partial wildcard', 'orders.a*'],
    ['reply topics', '_INBOX.>'],
    ['empty', ''],
  ])('subscribing with a bad pattern (%s) is rejected with GW_INVALID_ARGUMENT', (_name, pattern) => {
    const session = env.router.openSession(new RecordingSink(), { caller });
    let error: unknown;
    try {
      session.subscribe({ pattern });
    } catch (e) {
      error = e;
    }
    expect((error as GatewayError).code).toBe('GW_INVALID_ARGUMENT');
    expect((error as GatewayError).field).toBe('pattern');
  });

  test('a message with no or several targets, or a bad semver range, names the field', async () => {
    const none = (await env.router.send(message({}), caller).catch((e: unknown) => e)) as GatewayError;
    expect(none.code).toBe('GW_INVALID_ARGUMENT');
    expect(none.message).toMatch(/exactly one of topic, agentId or service/);
    const range = (await env.router
      .send(message({ service: 'svc', versionRange: 'not a range!' }), caller)
      .catch((e: unknown) => e)) as GatewayError;
    expect(range.field).toBe('message.versionRange');
    const batch = (await env.router
      .sendBatch([message({ topic: 'ok' }), message({ topic: 'bad..topic' })], caller)
      .catch((e: unknown) => e)) as GatewayError;
    expect(batch.field).toBe('messages[1].topic');
  });

  test('subscriptions per session are bounded', async () => {
    await env.gw.stop();
    env = await startRouterGateway({ maxSubscriptionsPerSession: 2 });
    const limits: string[] = [];
    env.gw.hooks.limitReached.tap('test', (event) => void limits.push(event.limit));
    const session = env.router.openSession(new RecordingSink(), { caller });
    session.subscribe({ pattern: 'a' });
    session.subscribe({ pattern: 'b' });
    expect(() => session.subscribe({ pattern: 'c' })).toThrow(expect.objectContaining({ code: 'GW_RESOURCE_EXHAUSTED' }));
    expect(limits).toEqual(['router.maxSubscriptionsPerSession']);
  });
});
