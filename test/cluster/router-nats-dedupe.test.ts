/**
 * router-nats gives a retrying producer the same dedupe semantics as router-embedded: a message
 * nobody took (`receivers: 0, stored: false`) does not burn its id — for a durable topic message
 * JetStream keeps nothing without a subscription consumer, so its id must not enter the duplicate
 * window either — and a duplicate of a stored message says `original: 'stored'`.
 */
import { caller, message, RecordingSink } from '../router/helpers';
import { eventually, startMember, type ClusterMember } from './helpers';
import { natsEnv, type NatsEnv } from './nats-env';

describe('router-nats: dedupe that helps a retrying producer', () => {
  let env: NatsEnv;
  let gw: ClusterMember;
  beforeAll(async () => {
    env = await natsEnv();
    gw = await startMember(env, {});
  });
  afterAll(async () => {
    await gw?.gw.stop();
    await env?.close();
  });

  it('a durable topic message nobody took can be retried with the same id until stored', async () => {
    expect(await gw.router.send(message({ id: 'nd-1', topic: 'nd.x', durable: true, text: 'first' }), caller)).toMatchObject({
      stored: false,
      receivers: 0,
      duplicate: false,
    });
    const sink = new RecordingSink();
    const session = gw.router.openSession(sink, { caller });
    session.subscribe({ pattern: 'nd.*', queueGroup: 'workers' });
    // The producer retries with the same id: once the group's consumer exists it is stored, never a "duplicate".
    const stored = await eventually(
      async () => {
        const outcome = await gw.router.send(message({ id: 'nd-1', topic: 'nd.x', durable: true, text: 'first' }), caller);
        expect(outcome.duplicate).toBe(false);
        return outcome.stored ? outcome : undefined;
      },
      15_000,
      'the retry stored',
    );
    expect(stored).toMatchObject({ stored: true, receivers: 1 });
    expect(await gw.router.send(message({ id: 'nd-1', topic: 'nd.x', durable: true, text: 'first' }), caller)).toMatchObject({
      duplicate: true,
      original: 'stored',
    });
    await eventually(() => sink.texts().includes('first'), 10_000, 'delivered');
    session.close('done');
  });

  it('an at-most-once message nobody took does not burn its id', async () => {
    expect(await gw.router.send(message({ id: 'am-1', topic: 'am.x', text: 'x' }), caller)).toMatchObject({
      receivers: 0,
      duplicate: false,
    });
    expect(await gw.router.send(message({ id: 'am-1', topic: 'am.x', text: 'x' }), caller)).toMatchObject({
      receivers: 0,
      duplicate: false,
    });
  });
});
