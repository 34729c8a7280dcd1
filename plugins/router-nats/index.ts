/**
 * # router-nats
 *
 * The cluster router: messages travel over NATS so that agents, services and topic subscribers on
 * any gateway of the cluster receive them. Pick it with `registry-nats` (same `prefix`).
 *
 * - **Topics** `a.b.c` with `*` and `>` (NATS's own syntax, so NATS does the matching); queue
 *   groups are NATS queue subscriptions, one per member, balanced across gateways by NATS.
 * - **Point-to-point** to an agent (wherever it is connected) or a service (optionally a semver
 *   range), balanced over the cluster's routable instances: `round-robin` or `consistent-hash` on
 *   `key` (rendezvous hashing).
 * - **Request/reply**: reply topics are `_INBOX.<router id>.<seq>`, so a reply sent at any gateway
 *   reaches the one holding the request; deadline and cancel send `cancel` to the target agent.
 * - **Durable** (`durable: true`, to an agent or service): stored in the JetStream stream
 *   `<prefix>_inbox` (work queue, file storage) before `send` resolves; one durable consumer per
 *   agent, pulled by whichever gateway holds the agent's inbox session; ack / nack (backoff) /
 *   in-progress map to JetStream ack / nak(delay) / working; unacked messages come back after
 *   `durable.ackTimeoutMs` (also when a gateway dies); dead letters after `durable.maxAttempts`
 *   go to `deadLetterTopic`; client message ids dedupe through `Nats-Msg-Id` (cluster-wide).
 *   Service messages follow the service: when an instance leaves the cluster, the service messages
 *   waiting in its inbox move to another routable instance (or when one appears).
 * - **Durable topics**: stream `<prefix>_topics` (interest retention): each subscription has a
 *   JetStream consumer filtered on its pattern: per queue group (shared by members on every
 *   gateway), per agent and pattern (kept while the agent is away), or per anonymous session
 *   (deleted with it). A durable topic message with no subscription anywhere is not kept.
 *   `durableTopics: false` skips the per-subscription consumer and refuses durable topic messages.
 * - **Receivers** for topic messages are counted from interest snapshots the gateways exchange
 *   (`interestIntervalMs`): exact for this gateway, up to one interval stale for others.
 * - **Bounded**: session queues with an overflow policy, `maxSessions`, subscriptions per session,
 *   pending requests, unacked deliveries, dedupe window, remote gateways; `limitReached` fires and
 *   `openclaw_router_nats_*` metrics count.
 *
 * ```ts
 * plugins: [{ use: 'registry-nats', options: { prefix: 'prod' } }, { use: 'router-nats', options: { prefix: 'prod', servers: ['nats://10.0.0.5:4222'] } }, ...]
 * ```
 * Operator guide: `docs/cluster.md`.
 */
import type { NatsConnection } from 'nats';
import { definePlugin, GatewayError, type RouterService } from '../../kernel';
import { isJetStreamSetupError } from '../../support/nats/jetstream-ensure';
import { openNatsConnection } from '../../support/nats/nats-connection';
import { NatsRouter } from './nats-router';
import { schema, type NatsRouterOptions } from './schema';

export default definePlugin<NatsRouterOptions, RouterService>({
  name: 'router-nats',
  kind: 'router',
  version: '0.1.0',
  description: 'Cluster router over NATS subjects with durable inboxes in JetStream.',
  schema,
  dependencies: [{ kind: 'registry' }],
  setup(ctx) {
    const router = new NatsRouter(ctx, ctx.services.get('registry'));
    let nc: NatsConnection | undefined;
    return {
      service: router,
      async start() {
        nc = await openNatsConnection(ctx.options, `openclaw-router:${ctx.gateway.id}`, ctx.gateway.configDir);
        try {
          await router.start(nc);
        } catch (error) {
          await nc.close().catch(() => undefined);
          const why = isJetStreamSetupError(error)
            ? error.message
            : `JetStream stream "${router.streamName}" could not be opened (${(error as Error).message})`;
          throw new GatewayError('GW_UNAVAILABLE', `servers: NATS at ${ctx.options.servers.join(', ')} is reachable but ${why}`, {
            field: 'servers',
            cause: error,
          });
        }
        ctx.logger.info({ stream: router.streamName, routerId: router.bootId }, 'cluster router ready');
      },
      drain: () => router.drain(),
      async stop() {
        await router.stop();
        await nc?.drain().catch(() => undefined);
      },
    };
  },
});
