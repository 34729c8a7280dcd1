/**
 * Unacked durable service messages over real gRPC: an SDK agent that closes says goodbye before it
 * hangs up, so the gateway hands them to another instance of the service at once — not after the
 * reconnect grace period (a minute here), and not after the ack timeout (a minute too). A gateway
 * that stops keeps them stored as they are: no attempt spent, nothing dead-lettered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent, type AgentDelivery } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

/** The first delivery of an inbox subscription. */
async function first(inbox: AsyncIterable<AgentDelivery>): Promise<AgentDelivery> {
  for await (const delivery of inbox) return delivery;
  throw new Error('the inbox ended');
}

describe('unacked service messages over gRPC', () => {
  let gw: TestGateway | undefined;
  const agents: Agent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
    await gw?.stop();
    gw = undefined;
  });

  it('a message the closing instance took but did not ack is processed by the other instance', async () => {
    gw = await startTestGateway({
      plugins: { router: { use: 'router-embedded', options: { durable: { ackTimeoutMs: 60_000, rehomeAfterMs: 60_000 } } } },
    });
    const leaving = connect(gw.address);
    const staying = connect(gw.address);
    const sender = connect(gw.address);
    agents.push(leaving, staying, sender);
    await leaving.register({ service: 'jobs', version: '1.0.0' });
    const leavingInbox = await leaving.subscribe();

    await sender.send({ service: 'jobs', durable: true, payload: 'job 1' });
    expect((await first(leavingInbox)).text()).toBe('job 1');

    await staying.register({ service: 'jobs', version: '1.0.0' });
    const stayingInbox = await staying.subscribe();
    await leaving.close();

    for await (const delivery of stayingInbox) {
      expect(delivery.text()).toBe('job 1');
      expect(delivery.attempt).toBe(2);
      await delivery.ack();
      break;
    }
  });

  it('a gateway that stops keeps them stored, attempts unspent, none dead-lettered', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-stop-'));
    // One attempt: spending one at shutdown would dead-letter.
    const router = { use: 'router-embedded', options: { durable: { ackTimeoutMs: 60_000, maxAttempts: 1 } } };
    try {
      gw = await startTestGateway({ dataDir, plugins: { router } });
      const deadLetters: string[] = [];
      gw.gateway.hooks.messageDeadLettered.tap('test', (letter) => void deadLetters.push(letter.reason));
      const sender = connect(gw.address);
      agents.push(sender);
      const inboxes: Array<AsyncIterable<AgentDelivery>> = [];
      for (let i = 0; i < 2; i++) {
        const worker = connect(gw.address);
        agents.push(worker);
        await worker.register({ service: 'jobs', version: '1.0.0' });
        inboxes.push(await worker.subscribe());
      }
      await sender.send({ service: 'jobs', durable: true, payload: 'a' });
      await sender.send({ service: 'jobs', durable: true, payload: 'b' });
      // Round-robin: one each, both unacked when the gateway stops under them.
      expect((await Promise.all(inboxes.map(first))).map((d) => d.text()).sort()).toEqual(['a', 'b']);
      await gw.stop();
      gw = undefined;
      expect(deadLetters).toEqual([]);

      gw = await startTestGateway({ dataDir, plugins: { router } });
      const pending = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_durable_pending');
      expect(pending).toContain('openclaw_router_durable_pending 2');
    } finally {
      await gw?.stop();
      gw = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
