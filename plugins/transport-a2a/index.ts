/**
 * # transport-a2a
 *
 * Every registered agent and service reachable by Agent2Agent (A2A v1.0) clients, with durable
 * tasks, built on `@a2a-js/sdk` (JSON-RPC and SSE handling, task lifecycle, v0.3 compat layer).
 *
 * ```ts
 * { use: 'transport-a2a', options: { host: '127.0.0.1', port: 7401 } }
 * ```
 *
 * - Cards from the registry: `/agents/<agentId>/.well-known/agent-card.json`,
 *   `/services/<service>/.well-known/agent-card.json?version=<range>`, the catalogue at
 *   `GET /agents` and `GET /services` (ETag, Cache-Control), the gateway's card at
 *   `/.well-known/agent-card.json`. A gone agent's card is 404.
 * - Methods (JSON-RPC at the base URL): SendMessage, SendStreamingMessage (SSE), GetTask,
 *   ListTasks, CancelTask, SubscribeToTask, GetExtendedAgentCard, push-notification configs; v0.3
 *   clients through the SDK's compat layer; HTTP+JSON at `<base>rest`.
 * - Push notifications from a durable lmdb outbox: in order per webhook, retried with backoff,
 *   at least once across restarts; private-network webhook URLs refused by default.
 * - Mapping: a message becomes a gateway request to the agent or service (deadline
 *   `requestTimeoutMs`, cancel on CancelTask); agents without the capability `a2a` get text/plain
 *   or application/json, agents with it get `application/a2a+json` and may stream events (see
 *   `sdk/a2a.ts`).
 * - Tasks in lmdb under `<dataDir>/<plugin name>/tasks`, bounded (`tasks.maxTasks`,
 *   `tasks.retentionMs`, `tasks.maxHistory`); a repeated messageId returns its task.
 * - Security: every request is authenticated by the auth plugin and each method authorized as
 *   `request` on the agent id or service (as gRPC's Request); bounded body, streams and calls per
 *   identity; open auth mode refuses non-loopback hosts.
 * - Outbound: `remoteAgents` registers external A2A agents (by card URL) as registry services
 *   that gRPC agents `Request`.
 */
import { definePlugin, type TransportService } from '../../kernel';
import { A2aTransport } from './a2a-transport';
import { transportA2aSchema, type TransportA2aOptions } from './schema';

export type { TransportA2aOptions, RemoteAgentOption } from './schema';

export default definePlugin<TransportA2aOptions, TransportService>({
  name: 'transport-a2a',
  kind: 'transport',
  version: '0.1.0',
  description: 'Agent2Agent (A2A v1.0) access to every registered agent and service, with durable tasks',
  schema: transportA2aSchema,
  dependencies: [{ kind: 'registry' }, { kind: 'router' }, { kind: 'auth' }],
  setup(ctx) {
    const transport = new A2aTransport(ctx);
    return {
      service: transport,
      start: () => transport.start(),
      drain: ({ deadline }) => transport.drain(deadline),
      stop: () => transport.stop(),
    };
  },
});
