/**
 * A store written by a gateway before the index table existed (messages only, dedupe ids as bare
 * expiry numbers) is read at the first start: its index is built once from the messages, every
 * pending message is delivered, and an old remembered id is still a duplicate (outcome unknown).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { agentInfo, caller, message, RecordingSink, startRouterGateway, waitFor } from './helpers';

test('an old-format store is upgraded in place: pending messages delivered, old dedupe ids kept', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'router-upgrade-'));
  try {
    // What the previous version wrote: `messages` (seq → record) and `dedupe` (id → expiry).
    const root = open({ path: path.join(dataDir, 'router-embedded'), overlappingSync: true });
    const messages = root.openDB({ name: 'messages', encoding: 'msgpack' });
    const dedupe = root.openDB({ name: 'dedupe', encoding: 'msgpack' });
    const knownAgents = root.openDB({ name: 'known-agents', encoding: 'msgpack' });
    for (let seq = 1; seq <= 3; seq++) {
      const stored = message({ id: `old-${seq}`, agentId: 'worker', durable: true, text: `m${seq}` });
      stored.createdAt = Date.now();
      await messages.put(seq, { target: 'a:worker', subscription: 'inbox', message: stored, enqueuedAt: Date.now() });
      await dedupe.put(`old-${seq}`, Date.now() + 600_000);
    }
    await knownAgents.put('worker', Date.now());
    await root.close();

    const env = await startRouterGateway({}, dataDir);
    try {
      expect(await env.router.send(message({ id: 'old-1', agentId: 'worker', durable: true }), caller)).toMatchObject({ duplicate: true });
      await env.registry.register(agentInfo('worker'), {});
      const sink = new RecordingSink();
      env.router.openSession(sink, { agentId: 'worker', caller: { peer: 'test', agentId: 'worker' } });
      await waitFor(() => sink.deliveries.length === 3, 10_000, 'the old messages');
      expect(sink.texts().sort()).toEqual(['m1', 'm2', 'm3']);
      for (const delivery of sink.deliveries)
        expect(env.router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
      // Acked now: the old id's outcome is known.
      expect(await env.router.send(message({ id: 'old-2', agentId: 'worker', durable: true }), caller)).toMatchObject({
        duplicate: true,
        original: 'delivered',
      });
    } finally {
      await env.gw.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
