/**
 * # transport-grpc
 *
 * The agent-facing gRPC API (`openclaw.gateway.v1.GatewayService` and `AdminService`), plus the
 * standard `grpc.health.v1.Health` service and server reflection so generic gRPC tools work.
 *
 * ```ts
 * { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 7400 }, { socket: 'run/gateway.sock' }] } }
 * ```
 *
 * - Listeners: several at once, TCP `{host, port}` (port 0 picks a free one) and Unix sockets
 *   `{socket}` (relative paths are under the gateway's dataDir; mode `socketMode`; the folder must
 *   exist and be writable unless it is inside the dataDir). Each listener binds within 10 s or the
 *   start fails with GW_PLUGIN_START_FAILED naming `listen[i]`; `preflight` reports the same
 *   listener problems to `validate` (and duplicate addresses). When the auth
 *   plugin is loopback-only (open mode), non-loopback TCP listeners are refused at start with
 *   GW_CONFIG_INVALID. TLS / mTLS credentials come from `auth.serverTls()`.
 * - Every call is authenticated (`auth.authenticate`) and each action authorized
 *   (register→service, send→agent id or service, publish→topic, subscribe→pattern,
 *   request→target, admin→`*`); the auth plugin reports its refusals on `hooks.authFailed`, the
 *   transport only its own (a Subscribe to another identity's inbox).
 * - Errors: the gRPC status equals `GatewayError.status`; the status message is `GW_CODE: field:
 *   message` and the code is also in the `gw-error-code` trailer. Every request field is checked
 *   at the boundary and the error names it (`message.topic`, `topics[0].pattern`).
 * - Subscribe is the agent's session: registry session binding (dropped stream = agent down at
 *   once), router session (events pre-encoded once per fan-out), optional registry events, closed
 *   with UNAUTHENTICATED when the credential expires and PERMISSION_DENIED when a policy change
 *   removes a subscription's permission. Headers are sent once the session is live.
 * - Limits (each with a metric and `hooks.limitReached`): `maxSubscribeStreams` (reject),
 *   `maxRegistryEventsQueued` per stream (drop-oldest), `maxBatchMessages` (reject),
 *   `maxPublishInFlight` per PublishStream (pause reading), `maxTopicsPerSubscribe` (reject),
 *   keepalive `maxPingStrikes` (GOAWAY), `maxMessageBytes` and `maxConcurrentStreams` (grpc-js).
 *   `maxMessageBytes` also bounds every Subscribe frame: deliveries queued for a subscriber that
 *   fell behind are split into as many Event batches as that takes (4 MiB, what clients accept by
 *   default), so a backlog of large messages never makes a frame grpc-js or the client refuses.
 * - Drain: new calls get UNAVAILABLE (GW_DRAINING), health turns NOT_SERVING, in-flight unary calls
 *   finish before the deadline. Stop ends the streams and shuts the server down (graceful, then
 *   forced after 2 s).
 */
import { definePlugin, type TransportService } from '../../kernel';
import { GrpcTransport } from './grpc-transport';
import { transportPreflight } from './preflight';
import { transportGrpcSchema, type TransportGrpcOptions } from './schema';

export type { TransportGrpcOptions, ListenAddress } from './schema';

export default definePlugin<TransportGrpcOptions, TransportService>({
  name: 'transport-grpc',
  kind: 'transport',
  version: '0.1.0',
  description: 'gRPC API for agents and operators (TCP and Unix sockets, TLS from the auth plugin, health and reflection)',
  schema: transportGrpcSchema,
  preflight: transportPreflight,
  dependencies: [{ kind: 'registry' }, { kind: 'router' }, { kind: 'auth' }, { kind: 'supervisor', optional: true }],
  setup(ctx) {
    const transport = new GrpcTransport(ctx);
    return {
      service: transport,
      start: () => transport.start(),
      drain: ({ deadline }) => transport.drain(deadline),
      stop: () => transport.stop(),
    };
  },
});
