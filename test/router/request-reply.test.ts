import type { OutboundEvent } from '../../kernel';
import { agentCaller, agentInfo, caller, message, RecordingSink, startRouterGateway, waitFor, type RouterGateway } from './helpers';

/** A responder agent: replies to every request on its inbox, following the reply convention. */
class Responder extends RecordingSink {
  constructor(private readonly reply: (text: string) => Promise<void> | void) {
    super();
  }
  override write(events: readonly OutboundEvent[]): boolean {
    for (const event of events) {
      if (event.kind === 'delivery' && event.delivery.message.replyTo) {
        const request = event.delivery.message;
        setImmediate(
          () =>
            void this.reply(
              JSON.stringify({
                replyTo: request.replyTo,
                correlationId: request.correlationId,
                text: Buffer.from(request.payload).toString(),
              }),
            ),
        );
      }
    }
    return super.write(events);
  }
}

describe('router-embedded: request/reply', () => {
  let env: RouterGateway;
  beforeEach(async () => {
    env = await startRouterGateway();
    await env.registry.register(agentInfo('echo', 'echo'), {});
  });
  afterEach(async () => {
    await env.gw.stop();
  });

  test('a reply on replyTo with the correlation id completes the request', async () => {
    const responder = new Responder(async (json) => {
      const { replyTo, correlationId, text } = JSON.parse(json) as { replyTo: string; correlationId: string; text: string };
      await env.router.send(message({ topic: replyTo, correlationId, text: text.toUpperCase() }), agentCaller('echo'));
    });
    env.router.openSession(responder, { agentId: 'echo', caller: agentCaller('echo') });
    const reply = await env.router.request(message({ service: 'echo', text: 'hello' }), caller, { deadline: Date.now() + 5_000 });
    expect(Buffer.from(reply.payload).toString()).toBe('HELLO');
    const request = responder.deliveries[0].message;
    expect(request.replyTo).toBe(`_INBOX.${request.correlationId}`);
    expect(reply.correlationId).toBe(request.correlationId);
  });

  test('an expired request fails with GW_DEADLINE_EXCEEDED and the receiver gets a cancel; a late reply is dropped', async () => {
    const silent = new RecordingSink();
    env.router.openSession(silent, { agentId: 'echo', caller: agentCaller('echo') });
    const dropped: string[] = [];
    env.gw.hooks.messageDropped.tap('test', (_m, reason) => void dropped.push(reason));
    const error = await env.router
      .request(message({ agentId: 'echo', text: 'slow' }), caller, { deadline: Date.now() + 200 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GW_DEADLINE_EXCEEDED' });
    await waitFor(() => silent.events.some((e) => e.kind === 'cancel'), 5_000, 'cancel event');
    const request = silent.deliveries[0].message;
    expect(silent.events.find((e) => e.kind === 'cancel')).toEqual({
      kind: 'cancel',
      correlationId: request.correlationId,
      reason: 'deadline',
    });

    const late = await env.router.send(message({ topic: request.replyTo, correlationId: request.correlationId }), agentCaller('echo'));
    expect(late.receivers).toBe(0);
    expect(dropped).toContain('no-pending-request');
  });

  test('a request cancelled by the client fails with GW_CANCELLED and is cancelled at the receiver', async () => {
    const silent = new RecordingSink();
    env.router.openSession(silent, { agentId: 'echo', caller: agentCaller('echo') });
    const controller = new AbortController();
    const pending = env.router.request(message({ agentId: 'echo' }), caller, { deadline: Date.now() + 30_000, signal: controller.signal });
    await waitFor(() => silent.deliveries.length === 1, 5_000, 'request delivered');
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'GW_CANCELLED' });
    await waitFor(() => silent.events.some((e) => e.kind === 'cancel'), 5_000, 'cancel event');
    expect(silent.events.find((e) => e.kind === 'cancel')).toMatchObject({
      correlationId: silent.deliveries[0].message.correlationId,
      reason: 'cancelled',
    });
  });

  test('a request nobody can receive fails at once with GW_UNAVAILABLE', async () => {
    await expect(env.router.request(message({ topic: 'nobody.listens' }), caller, { deadline: Date.now() + 5_000 })).rejects.toMatchObject({
      code: 'GW_UNAVAILABLE',
      field: 'topic',
    });
  });

  test('pending requests are bounded: past the limit callers get GW_RESOURCE_EXHAUSTED', async () => {
    await env.gw.stop();
    env = await startRouterGateway({ maxPendingRequests: 2 });
    await env.registry.register(agentInfo('echo', 'echo'), {});
    env.router.openSession(new RecordingSink(), { agentId: 'echo', caller: agentCaller('echo') });
    const deadline = Date.now() + 500;
    const first = env.router.request(message({ agentId: 'echo' }), caller, { deadline }).catch((e: unknown) => e);
    const second = env.router.request(message({ agentId: 'echo' }), caller, { deadline }).catch((e: unknown) => e);
    await expect(env.router.request(message({ agentId: 'echo' }), caller, { deadline })).rejects.toMatchObject({
      code: 'GW_RESOURCE_EXHAUSTED',
    });
    expect(await first).toMatchObject({ code: 'GW_DEADLINE_EXCEEDED' });
    expect(await second).toMatchObject({ code: 'GW_DEADLINE_EXCEEDED' });
  });

  test('the hop counter cuts an agent loop with a dead letter, not an outage', async () => {
    const deadLetters: { reason: string; attempts: number }[] = [];
    env.gw.hooks.messageDeadLettered.tap('test', (dl) => void deadLetters.push({ reason: dl.reason, attempts: dl.attempts }));
    // Two agents forwarding to each other forever, copying the hop counter as an SDK does.
    await env.registry.register(agentInfo('ping', 'loop'), {});
    await env.registry.register(agentInfo('pong', 'loop'), {});
    const forward = (self: string, other: string) =>
      new (class extends RecordingSink {
        override write(events: readonly OutboundEvent[]): boolean {
          for (const event of events) {
            if (event.kind !== 'delivery') continue;
            const hops = event.delivery.message.hops;
            setImmediate(
              () => void env.router.send(message({ agentId: other, hops, maxHops: 5 }), agentCaller(self)).catch(() => undefined),
            );
          }
          return super.write(events);
        }
      })();
    const ping = forward('ping', 'pong');
    const pong = forward('pong', 'ping');
    env.router.openSession(ping, { agentId: 'ping', caller: agentCaller('ping') });
    env.router.openSession(pong, { agentId: 'pong', caller: agentCaller('pong') });
    await env.router.send(message({ agentId: 'ping', maxHops: 5 }), agentCaller('pong'));
    await waitFor(() => deadLetters.length === 1, 5_000, 'loop cut');
    expect(deadLetters[0]).toEqual({ reason: 'max-hops', attempts: 6 });
    expect(ping.deliveries.length + pong.deliveries.length).toBe(5);
    // The gateway still routes normally.
    expect((await env.router.send(message({ topic: 'still.working' }), caller)).duplicate).toBe(false);
  });
});
