/**
 * # router-embedded
 *
 * The default router: runs inside the gateway, no external broker.
 *
 * - **Topics** `a.b.c` with `*` (one token) and `>` (the rest) in subscriptions; queue groups share
 *   a subscription's messages (one member each).
 * - **Point-to-point** to an agent's inbox or a service (optionally a semver range), balanced over
 *   routable instances by `strategy`: `round-robin`, `least-in-flight`, `consistent-hash` (on `key`).
 * - **Request/reply** with a deadline; expiry and client cancellation send `cancel` to receivers.
 * - **At-least-once** (`durable: true`): stored in lmdb under `<dataDir>/<plugin name>/`, synced
 *   before `send` resolves (group commit), acked, redelivered with backoff, dead-lettered to
 *   `deadLetterTopic` after `durable.maxAttempts`; deduplicated by client message id.
 * - **Offline inboxes** keep durable messages for disconnected agents within count/byte/age limits.
 * - **Bounded everything**: per-session queues with an overflow policy, capped maps, metrics
 *   `openclaw_router_*`, and the `limitReached` hook when a limit is hit.
 *
 * Contract, semantics and every option: `docs/router.md`.
 *
 * ```ts
 * plugins: ['registry-memory', { use: 'router-embedded', options: { strategy: 'least-in-flight' } }, ...]
 * ```
 */
import { definePlugin, type RouterService } from '../../kernel';
import { EmbeddedRouter } from './router';
import { schema, type RouterOptions } from './schema';

export default definePlugin<RouterOptions, RouterService>({
  name: 'router-embedded',
  kind: 'router',
  version: '0.1.0',
  description: 'Embedded topic/point-to-point router with durable at-least-once delivery (lmdb)',
  schema,
  dependencies: [{ kind: 'registry' }],
  setup(ctx) {
    const router = new EmbeddedRouter(ctx, ctx.services.get('registry'));
    return {
      service: router,
      start: () => router.start(),
      drain: () => router.drain(),
      stop: () => router.stop(),
    };
  },
});
