import { definePlugin } from '../../kernel';
import { eventually, startMonitoredGateway } from './support/gateway';

/** A plugin whose drain waits until the test releases it, so the test can look at the gateway mid-drain. */
function slowDrainer() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let draining!: () => void;
  const drainStarted = new Promise<void>((resolve) => (draining = resolve));
  const plugin = definePlugin<Record<string, unknown>>({
    name: 'slow-drainer',
    kind: 'sandbox',
    version: '1.0.0',
    schema: { type: 'object' },
    setup: () => ({
      async drain() {
        draining();
        await released;
      },
    }),
  });
  return { plugin, release, drainStarted };
}

describe('monitor health and readiness', () => {
  test('/healthz is alive and /readyz flips to 503 while the gateway drains', async () => {
    const drainer = slowDrainer();
    const gateway = await startMonitoredGateway({}, [drainer.plugin], { drainTimeoutMs: 20_000 });
    const { url } = gateway;

    const alive = await fetch(`${url}/healthz`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: 'alive', stage: 'ready' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', stage: 'ready' });

    const stopped = gateway.stop();
    await drainer.drainStarted;
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'not-ready', stage: 'draining' });
    // Still alive: a liveness probe must not kill a gateway that is finishing its work.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^openclaw_gateway_ready 0$/m);

    drainer.release();
    await stopped;
    await eventually(
      async () => {
        try {
          await fetch(`${url}/healthz`);
          return false;
        } catch {
          return true;
        }
      },
      5000,
      'the monitor port to close after stop',
    );
  });

  test('bad requests get a GW_* code naming what to fix', async () => {
    const gateway = await startMonitoredGateway();
    try {
      const { url } = gateway;
      const badLimit = await fetch(`${url}/api/agents?limit=lots`);
      expect(badLimit.status).toBe(400);
      expect(await badLimit.json()).toEqual({
        code: 'GW_INVALID_ARGUMENT',
        field: 'limit',
        message: expect.stringContaining('limit: must be an integer'),
      });
      const badState = await fetch(`${url}/api/agents?state=sleeping`);
      expect(badState.status).toBe(400);
      expect(await badState.json()).toMatchObject({ code: 'GW_INVALID_ARGUMENT', field: 'state' });
      const missing = await fetch(`${url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'GW_NOT_FOUND', field: 'path' });
      const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(await post.json()).toMatchObject({ code: 'GW_UNIMPLEMENTED', field: 'method' });
    } finally {
      await gateway.stop();
    }
  });

  test('invalid options are rejected before start with the option path', async () => {
    await expect(startMonitoredGateway({ anomaly: { rules: [{ type: 'cpu-spikes', threshold: 1 }] } })).rejects.toMatchObject({
      code: 'GW_CONFIG_INVALID',
      message: expect.stringContaining('/options/anomaly/rules/0/type'),
    });
  });
});
