'use strict';
/**
 * # @openclaw-examples/router-priority
 *
 * A third-party `router` plugin for OpenClaw Gateway, built only on the public plugin contract
 * (`RouterService`): it shows that routing is swappable. Every event written to a subscriber goes
 * through three **priority lanes** (high, normal, low). While a subscriber keeps up, lanes change
 * nothing; when it falls behind (its stream reports full), queued high-priority events are
 * written before queued normal and low ones, and when its queue is full the lowest-priority events
 * are shed first.
 *
 * A message's lane: the `x-priority` header (`high` | `normal` | `low`, when `priorityHeader` is
 * not empty), else the first `lanes` rule whose topic pattern matches, else `defaultPriority`.
 *
 * ```json
 * { "use": "@openclaw-examples/router-priority", "options": {
 *     "lanes": [{ "pattern": "alerts.>", "priority": "high" }, { "pattern": "metrics.>", "priority": "low" }] } }
 * ```
 *
 * Everything else a router must do is here too: topics with `*` / `>` wildcards and queue groups,
 * point-to-point to an agent's inbox or a service (round-robin, rendezvous hashing on `key`),
 * request/reply with deadlines and cancel events, at-least-once delivery with acks, redelivery and
 * dead letters (kept in memory, not across restarts), dedupe by message id, hop limits, and a
 * bound, a metric (`openclaw_router_priority_*`) and a `limitReached` policy for every queue and map.
 *
 * Plain CommonJS with JSDoc types, so Node loads it directly; `openclaw-gateway` is a peer
 * dependency and supplies the error class the transports map to status codes.
 */
const { schema } = require('./schema');
const { PriorityRouter } = require('./priority-router');

module.exports = {
  name: 'router-priority',
  kind: 'router',
  version: '1.0.0',
  description: 'Router with priority lanes per topic (example third-party plugin).',
  schema,
  dependencies: [{ kind: 'registry' }],
  /** @param {import('openclaw-gateway').PluginContext<any>} ctx */
  setup(ctx) {
    const router = new PriorityRouter(ctx, ctx.services.get('registry'));
    return { service: router, stop: () => router.stop() };
  },
};
