/**
 * router-nats with two gateways in this process against a real NATS JetStream server: topics with
 * wildcards, queue groups, point-to-point and service routing, request/reply, and durable inboxes
 * (stored, acked, nacked to a dead letter, deduplicated, picked up at another gateway).
 */
import type { DeadLetter, LimitEvent } from '../../kernel';
import { agentInfo, caller, message, RecordingSink } from '../router/helpers';
import { eventually, startMember, type ClusterMember } from './helpers';
import { natsEnv, type NatsEnv } from './nats-env';

describe('router-nats across two gateways', () => {
  let env: NatsEnv;
  let a: ClusterMember;
  let b: ClusterMember;
  beforeAll(async () => {
    env = await natsEnv();
    a = await startMember(env, { durable: { ackTimeoutMs: 2000, maxAttempts: 2, backoffBaseMs: 10 } });
    b = await startMember(env, { durable: { ackTimeoutMs: 2000, maxAttempts: 2, backoffBaseMs: 10 } });
  });
  afterAll(async () => {
    await Promise.all([a?.gw.stop(), b?.gw.stop()]);
    await env.close();
  });

  it('fans topic messages out to wildcard subscribers on the other gateway', async () => {
    const sink = new RecordingSink();
    const session = b.router.openSession(sink, { caller });
    session.subscribe({ pattern: 'orders.*.created' });
    session.subscribe({ pattern: 'orders.>' });
    // Receiver counts come from B's interest snapshot.
    const outcome = await eventually(
      async () => {
        const sent = await a.router.send(message({ topic: 'orders.eu.created', text: 'o1' }), caller);
        return sent.receivers === 2 ? sent : undefined;
      },
      10_000,
      'interest from gateway B',
    );
    expect(outcome.stored).toBe(false);
    await eventually(
      () =>
        sink.deliveries.some((d) => d.subscription === 'orders.*.created') && sink.deliveries.some((d) => d.subscription === 'orders.>'),
    );
    await a.router.send(message({ topic: 'orders.eu.shipped.late', text: 'o2' }), caller);
    await eventually(() => sink.texts().includes('o2'));
    expect(sink.deliveries.filter((d) => Buffer.from(d.message.payload).toString() === 'o2').map((d) => d.subscription)).toEqual([
      'orders.>',
    ]);
    session.close('done');
  });

  it('shares a queue group across gateways: each message goes to one member', async () => {
    const sinks = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    const sessions = [
      a.router.openSession(sinks[0], { caller }),
      b.router.openSession(sinks[1], { caller }),
      b.router.openSession(sinks[2], { caller }),
    ];
    for (const session of sessions) session.subscribe({ pattern: 'jobs.>', queueGroup: 'workers' });
    // One group: one receiver per message, wherever its members are.
    await eventually(async () => (await a.router.send(message({ topic: 'jobs.warmup', text: 'w' }), caller)).receivers === 1);
    await eventually(() => sinks.some((sink) => sink.texts().includes('w')));
    const before = sinks.map((sink) => sink.deliveries.length);
    for (let i = 0; i < 60; i++) await a.router.send(message({ topic: `jobs.n${i}`, text: `j${i}` }), caller);
    await eventually(() => sinks.reduce((sum, sink, i) => sum + sink.deliveries.length - before[i], 0) === 60);
    // NATS picks members at random: over 60 messages every member gets some.
    for (let i = 0; i < sinks.length; i++) expect(sinks[i].deliveries.length - before[i]).toBeGreaterThan(0);
    const all = sinks.flatMap((sink) => sink.texts()).filter((text) => text.startsWith('j'));
    expect(new Set(all).size).toBe(60);
    for (const session of sessions) session.close('done');
  });

  it('routes to an agent and to a service on the other gateway, and request/reply crosses back', async () => {
    await b.registry.register(agentInfo('calc-1', 'calc', '2.1.0'), {});
    const inbox = new RecordingSink();
    const session = b.router.openSession(inbox, { agentId: 'calc-1', caller: { peer: 'test', agentId: 'calc-1' } });
    await eventually(() => a.registry.get('calc-1'));
    await a.router.send(message({ agentId: 'calc-1', text: 'direct' }), caller);
    await a.router.send(message({ service: 'calc', versionRange: '^2.0.0', text: 'by-service' }), caller);
    await eventually(() => inbox.texts().includes('direct') && inbox.texts().includes('by-service'));
    await expect(a.router.send(message({ service: 'calc', versionRange: '^3.0.0' }), caller)).rejects.toMatchObject({
      code: 'GW_NOT_FOUND',
      field: 'service',
    });
    await expect(a.router.send(message({ agentId: 'nobody' }), caller)).rejects.toMatchObject({ code: 'GW_NOT_FOUND', field: 'agentId' });

    const reply = a.router.request(message({ service: 'calc', text: '2+2' }), caller, { deadline: Date.now() + 10_000 });
    const request = await eventually(() => inbox.deliveries.find((d) => Buffer.from(d.message.payload).toString() === '2+2'));
    expect(request.message.replyTo.startsWith('_INBOX.')).toBe(true);
    // The reply is sent at gateway B; the request waits at gateway A.
    await b.router.send(message({ topic: request.message.replyTo, correlationId: request.message.correlationId, text: '4' }), {
      peer: 'test',
      agentId: 'calc-1',
    });
    const answer = await reply;
    expect(Buffer.from(answer.payload).toString()).toBe('4');
    expect(answer.correlationId).toBe(request.message.correlationId);

    // A deadline that passes cancels the request at the receiver.
    await expect(
      a.router.request(message({ agentId: 'calc-1', text: 'slow' }), caller, { deadline: Date.now() + 300 }),
    ).rejects.toMatchObject({ code: 'GW_DEADLINE_EXCEEDED' });
    await eventually(() => inbox.events.some((event) => event.kind === 'cancel'));
    session.close('done');
    await b.registry.deregister('calc-1', 'done');
  });

  it('stores durable messages for an offline agent and delivers them where it connects next', async () => {
    await a.registry.register(agentInfo('durable-1', 'store', '1.0.0'), {});
    await eventually(() => b.registry.get('durable-1'));
    const first = await b.router.send(message({ id: 'm-1', agentId: 'durable-1', durable: true, text: 'one' }), caller);
    expect(first).toMatchObject({ messageId: 'm-1', stored: true, duplicate: false });
    const again = await a.router.send(message({ id: 'm-1', agentId: 'durable-1', durable: true, text: 'one' }), caller);
    expect(again).toMatchObject({ duplicate: true, stored: false });
    await b.router.send(message({ id: 'm-2', agentId: 'durable-1', durable: true, text: 'two' }), caller);

    // The agent moves to gateway B and opens its inbox there.
    await b.registry.register(agentInfo('durable-1', 'store', '1.0.0'), {});
    const sink = new RecordingSink();
    const session = b.router.openSession(sink, { agentId: 'durable-1', caller: { peer: 'test', agentId: 'durable-1' } });
    await eventually(() => sink.deliveries.length >= 2);
    expect(sink.texts()).toEqual(['one', 'two']);
    const [one, two] = sink.deliveries;
    expect(one.deliveryTag).not.toBe('');
    expect(one.attempt).toBe(1);
    expect(b.router.ack([{ deliveryTag: one.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    expect(b.router.ack([{ deliveryTag: one.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('stale');
    expect(b.router.ack([{ deliveryTag: 'someone-else.1.1', kind: 'ack' }], caller)[0].result).toBe('unknown');

    // Nacked until attempts run out: a dead letter, announced by the hook and on the DLQ topic.
    const letters: DeadLetter[] = [];
    const limits: LimitEvent[] = [];
    b.gw.gateway.hooks.messageDeadLettered.tap('test', (letter) => letters.push(letter));
    b.gw.gateway.hooks.limitReached.tap('test', (event) => limits.push(event));
    expect(b.router.ack([{ deliveryTag: two.deliveryTag, kind: 'nack', reason: 'bad' }], caller)[0].result).toBe('requeued');
    const retry = await eventually(() => sink.deliveries.find((d) => d.attempt === 2));
    expect(retry.deliveryTag).not.toBe(two.deliveryTag);
    expect(b.router.ack([{ deliveryTag: two.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('stale');
    b.router.ack([{ deliveryTag: retry.deliveryTag, kind: 'nack', reason: 'still bad' }], caller);
    await eventually(() => letters.length === 1);
    expect(letters[0]).toMatchObject({ reason: 'nack: still bad', attempts: 2 });
    expect(limits.map((event) => event.limit)).toContain('router.durable.maxAttempts');
    session.close('done');
  });

  it('redelivers an unacked durable message after the ack timeout', async () => {
    await a.registry.register(agentInfo('slowpoke', 'slow', '1.0.0'), {});
    const sink = new RecordingSink();
    const session = a.router.openSession(sink, { agentId: 'slowpoke', caller: { peer: 'test', agentId: 'slowpoke' } });
    await eventually(() => b.registry.get('slowpoke'));
    await b.router.send(message({ agentId: 'slowpoke', durable: true, text: 'late' }), caller);
    const firstTry = await eventually(() => sink.deliveries[0]);
    const secondTry = await eventually(() => sink.deliveries.find((d) => d.attempt === 2), 10_000, 'redelivery after ackTimeoutMs');
    expect(secondTry.message.id).toBe(firstTry.message.id);
    expect(a.router.ack([{ deliveryTag: secondTry.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    session.close('done');
  });

  it('keeps durable topic messages per agent subscription and per queue group, across gateways', async () => {
    await a.registry.register(agentInfo('auditor-1', 'audit', '1.0.0'), {});
    const agentSink = new RecordingSink();
    const agentSession = a.router.openSession(agentSink, { agentId: 'auditor-1', caller: { peer: 'test', agentId: 'auditor-1' } });
    agentSession.subscribe({ pattern: 'audit.>' });
    const members = [new RecordingSink(), new RecordingSink()];
    const memberSessions = [a.router.openSession(members[0], { caller }), b.router.openSession(members[1], { caller })];
    for (const session of memberSessions) session.subscribe({ pattern: 'audit.*', queueGroup: 'auditors' });
    // Interest reached B (agent subscription + one group); consumers exist once a send is stored for both.
    await eventually(
      async () => (await b.router.send(message({ topic: 'audit.warm', durable: true, text: 'warm' }), caller)).receivers === 2,
    );
    const outcome = await b.router.send(message({ id: 'audit-1', topic: 'audit.login', durable: true, text: 'login' }), caller);
    expect(outcome).toMatchObject({ stored: true, duplicate: false, receivers: 2 });
    expect(await b.router.send(message({ id: 'audit-1', topic: 'audit.login', durable: true, text: 'login' }), caller)).toMatchObject({
      duplicate: true,
    });

    const forAgent = await eventually(() => agentSink.deliveries.find((d) => Buffer.from(d.message.payload).toString() === 'login'));
    expect(forAgent.subscription).toBe('audit.>');
    expect(forAgent.deliveryTag).not.toBe('');
    const forGroup = await eventually(() =>
      members.flatMap((sink) => sink.deliveries).filter((d) => Buffer.from(d.message.payload).toString() === 'login'),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(members.flatMap((sink) => sink.deliveries).filter((d) => Buffer.from(d.message.payload).toString() === 'login')).toHaveLength(1);
    expect(forGroup[0].subscription).toBe('audit.*');
    expect(a.router.ack([{ deliveryTag: forAgent.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    const groupRouter = members[0].deliveries.includes(forGroup[0]) ? a.router : b.router;
    expect(groupRouter.ack([{ deliveryTag: forGroup[0].deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    for (const sink of [agentSink, ...members]) {
      for (const d of sink.deliveries)
        if (Buffer.from(d.message.payload).toString() === 'warm')
          (sink === members[1] ? b.router : a.router).ack([{ deliveryTag: d.deliveryTag, kind: 'ack' }], caller);
    }

    // The agent disconnects; what is published meanwhile waits for it.
    agentSession.close('disconnect');
    await b.router.send(message({ topic: 'audit.logout', durable: true, text: 'logout' }), caller);
    const back = new RecordingSink();
    const again = a.router.openSession(back, { agentId: 'auditor-1', caller: { peer: 'test', agentId: 'auditor-1' } });
    again.subscribe({ pattern: 'audit.>' });
    const missed = await eventually(() => back.deliveries.find((d) => Buffer.from(d.message.payload).toString() === 'logout'));
    a.router.ack([{ deliveryTag: missed.deliveryTag, kind: 'ack' }], caller);
    again.unsubscribe('audit.>');
    again.close('done');
    for (const session of memberSessions) session.close('done');
  });

  it('refuses bad input naming the field', async () => {
    await expect(a.router.send(message({ topic: 'a.*' }), caller)).rejects.toMatchObject({
      code: 'GW_INVALID_ARGUMENT',
      field: 'message.topic',
    });
    await expect(a.router.send(message({ topic: 'a', agentId: 'b' }), caller)).rejects.toMatchObject({ code: 'GW_INVALID_ARGUMENT' });
    const session = a.router.openSession(new RecordingSink(), { caller });
    expect(() => session.subscribe({ pattern: 'a.>.b' })).toThrow(expect.objectContaining({ field: 'pattern' }));
    expect(() => session.subscribe({ pattern: 'a', queueGroup: 'bad group' })).toThrow(expect.objectContaining({ field: 'queueGroup' }));
    expect(() => session.subscribe({ pattern: '_INBOX.>' })).toThrow(expect.objectContaining({ code: 'GW_INVALID_ARGUMENT' }));
    session.close('done');
  });
});

describe('router-nats offline inbox limit', () => {
  let env: NatsEnv;
  let member: ClusterMember;
  beforeAll(async () => {
    env = await natsEnv();
    member = await startMember(env, { offlineInbox: { maxMessages: 2 } });
  });
  afterAll(async () => {
    await member?.gw.stop();
    await env.close();
  });

  it('refuses a durable message for a full offline inbox with GW_RESOURCE_EXHAUSTED and limitReached', async () => {
    const limits: LimitEvent[] = [];
    member.gw.gateway.hooks.limitReached.tap('test', (event) => limits.push(event));
    await member.registry.register(agentInfo('away', 'away', '1.0.0'), {});
    await member.router.send(message({ agentId: 'away', durable: true, text: '1' }), caller);
    await member.router.send(message({ agentId: 'away', durable: true, text: '2' }), caller);
    await expect(member.router.send(message({ agentId: 'away', durable: true, text: '3' }), caller)).rejects.toMatchObject({
      code: 'GW_RESOURCE_EXHAUSTED',
      field: 'agentId',
    });
    expect(limits.map((event) => event.limit)).toContain('router.offlineInbox.maxMessages');
  });
});
