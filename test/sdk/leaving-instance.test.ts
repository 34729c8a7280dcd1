/**
 * An SDK agent that closes says goodbye before it hangs up, so the gateway hands the service
 * messages it had not acked to another instance of the service at once — not after the
 * reconnect grace period (a minute here), and not after the ack timeout (a minute too).
 */
import { connect, type Agent, type AgentDelivery } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

describe('SDK close() hands unacked service messages over', () => {
  let gw: TestGateway;
  const agents: Agent[] = [];
  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
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
    const taken = await new Promise<AgentDelivery>((resolve) => {
      void (async () => {
        for await (const delivery of leavingInbox) return resolve(delivery);
      })();
    });
    expect(taken.text()).toBe('job 1');

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
});
