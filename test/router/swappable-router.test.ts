import path from 'node:path';
import { agentCaller, caller, message, RecordingSink, settle, startRouterGateway } from './helpers';

describe('the router kind is swappable', () => {
  test('a content-based router loaded by path serves the same RouterService contract', async () => {
    const fixture = path.join(__dirname, '../fixtures/router-content');
    const env = await startRouterGateway({}, undefined, { use: fixture, options: { routeHeader: 'x-desk' } });
    try {
      expect(env.gw.plugins().find((p) => p.kind === 'router')).toMatchObject({
        name: 'router-content',
        source: expect.stringContaining('router-content'),
      });
      const desk = new RecordingSink();
      const listener = new RecordingSink();
      env.router.openSession(desk, { agentId: 'desk-7', caller: agentCaller('desk-7') });
      env.router.openSession(listener, { caller }).subscribe({ pattern: 'tickets.new' });

      const routed = await env.router.send(message({ topic: 'tickets.new', headers: { 'x-desk': 'desk-7' }, text: 'to desk' }), caller);
      const plain = await env.router.send(message({ topic: 'tickets.new', text: 'to topic' }), caller);
      await settle();
      expect(routed.receivers).toBe(1);
      expect(plain.receivers).toBe(1);
      expect(desk.texts()).toEqual(['to desk']);
      expect(desk.deliveries[0].subscription).toBe('header:x-desk');
      expect(listener.texts()).toEqual(['to topic']);
      await expect(env.router.request(message({ topic: 'x' }), caller, { deadline: Date.now() + 1000 })).rejects.toMatchObject({
        code: 'GW_UNIMPLEMENTED',
      });
    } finally {
      await env.gw.stop();
    }
  });

  test('the router is chosen by config: the same test drives the embedded router', async () => {
    const env = await startRouterGateway();
    try {
      expect(env.gw.plugins().find((p) => p.kind === 'router')).toMatchObject({
        name: 'router-embedded',
        source: expect.stringContaining('router-embedded'),
      });
      const listener = new RecordingSink();
      env.router.openSession(listener, { caller }).subscribe({ pattern: 'tickets.*' });
      await env.router.send(message({ topic: 'tickets.new', text: 'wildcards here' }), caller);
      await settle();
      expect(listener.texts()).toEqual(['wildcards here']);
    } finally {
      await env.gw.stop();
    }
  });
});
