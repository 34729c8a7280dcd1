/**
 * Graceful shutdown under load, through the real gateway: while publishers keep sending durable
 * messages to an offline agent, the gateway is stopped. Every call must end either accepted
 * (OK, stored) or refused with UNAVAILABLE — and every accepted message must be delivered after a
 * restart on the same data dir. Nothing accepted is lost, nothing fails with an internal error.
 * The agent was offline the whole time (registered once, then its stream dropped), so this also
 * covers offline inboxes across a restart.
 */
import { connect, GatewayClientError, type Agent } from '../../sdk';
import { startTestGateway } from '../helpers/gateway';

const PUBLISHERS = 4;

test('stopping under load drains: accepted messages survive, the rest get UNAVAILABLE', async () => {
  const first = await startTestGateway();
  const dataDir = first.dataDir;
  const publishers: Agent[] = Array.from({ length: PUBLISHERS }, () => connect(first.address, { maxAttempts: 1 }));
  const accepted = new Set<string>();
  const refusals = new Map<string, number>();
  let stopRequested = false;

  const publishLoop = async (publisher: Agent, index: number): Promise<void> => {
    for (let sequence = 0; ; sequence += 1) {
      const id = `p${index}-${sequence}`;
      try {
        const result = await publisher.send({ id, agentId: 'offline-worker', payload: id, durable: true });
        expect(result.stored).toBe(true);
        accepted.add(id);
      } catch (error) {
        const code = error instanceof GatewayClientError ? error.status : -1;
        const name = String(code);
        refusals.set(name, (refusals.get(name) ?? 0) + 1);
        if (stopRequested) return;
        throw error;
      }
      if (stopRequested && sequence > 10_000) return;
    }
  };

  // The worker registers once and goes away: its durable messages must wait in its offline inbox.
  const worker0 = connect(first.address);
  await worker0.register({ agentId: 'offline-worker', service: 'shutdown-test', version: '1.0.0' });
  await worker0.subscribe();
  await worker0.close();

  const loops = publishers.map((publisher, index) => publishLoop(publisher, index));
  // Let load build up before the stop arrives in the middle of it.
  while (accepted.size < 300) await new Promise((resolve) => setTimeout(resolve, 10));
  stopRequested = true;
  const stopping = first.gateway.stop('test: stop under load');
  await Promise.all(loops);
  await stopping;
  await Promise.all(publishers.map((publisher) => publisher.close()));

  // Only "accepted" or "unavailable" (14): never an internal error or a silently dropped call.
  expect([...refusals.keys()].filter((code) => code !== '14')).toEqual([]);
  expect(first.gateway.stage).toBe('stopped');

  const second = await startTestGateway({ dataDir });
  const worker = connect(second.address);
  try {
    await worker.register({ agentId: 'offline-worker', service: 'shutdown-test', version: '1.0.0' });
    const inbox = await worker.subscribe();
    const received = new Set<string>();
    for await (const delivery of inbox) {
      received.add(delivery.text());
      await delivery.ack();
      if ([...accepted].every((id) => received.has(id))) break;
    }
    expect([...accepted].filter((id) => !received.has(id))).toEqual([]);
  } finally {
    await worker.close();
    await second.stop();
  }
}, 60_000);
