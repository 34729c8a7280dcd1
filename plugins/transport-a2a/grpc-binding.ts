/**
 * The A2A gRPC binding (`a2a.v1.A2AService`), served by the SDK's `grpcService` on the gateway's
 * own gRPC listener (a transport offering `addGrpcService`, i.e. transport-grpc). gRPC has no
 * URL path, so the target is the request's `tenant`: `agents/<agentId>` or
 * `services/<service>[@<semver range>]`, which the cards' GRPC interface carries and the SDK's
 * client sends on every call. Every call is authenticated by the auth plugin from its metadata
 * (bearer JWT) and peer, then authorized like the other bindings.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { A2AService, grpcService } from '@a2a-js/sdk/server/grpc';
import { GatewayError, Status, toGatewayError, type AuthService, type StatusCode } from '../../kernel';
import { GatewayUser, type A2aTarget } from './caller';
import { toA2aError } from './errors';
import type { GatewayRequestHandler } from './request-handler';

const KEPT: ReadonlySet<StatusCode> = new Set([Status.UNAUTHENTICATED, Status.PERMISSION_DENIED, Status.RESOURCE_EXHAUSTED]);

export function a2aGrpcService(
  handler: GatewayRequestHandler,
  auth: AuthService,
  draining: () => boolean,
): { definition: object; implementation: object } {
  const implementation = grpcService({
    requestHandler: handler,
    userBuilder: async (call) => {
      try {
        if (draining()) throw new GatewayError('GW_DRAINING', 'the gateway is draining; retry on another gateway or after restart');
        const surface = call as unknown as ServerUnaryCall<{ tenant?: string }, unknown>;
        const target = targetOfTenant(surface.request?.tenant ?? '');
        const metadata: Record<string, string> = {};
        for (const [key, value] of Object.entries(surface.metadata.getMap()))
          metadata[key] = typeof value === 'string' ? value : value.toString('base64');
        let identity;
        try {
          identity = await auth.authenticate({ metadata, peer: surface.getPeer(), method: surface.getPath?.() ?? '/a2a.v1.A2AService' });
        } catch (error) {
          const failure = toGatewayError(error);
          throw KEPT.has(failure.status) ? failure : new GatewayError('GW_UNAUTHENTICATED', failure.message, { cause: error });
        }
        return new GatewayUser(identity, target, surface.getPeer(), '', 'grpc');
      } catch (error) {
        throw toA2aError(error, 'grpc');
      }
    },
  });
  return { definition: A2AService, implementation };
}

function targetOfTenant(tenant: string): A2aTarget {
  if (tenant.startsWith('agents/') && tenant.length > 'agents/'.length) return { kind: 'agent', agentId: tenant.slice('agents/'.length) };
  if (tenant.startsWith('services/') && tenant.length > 'services/'.length) {
    const rest = tenant.slice('services/'.length);
    const at = rest.indexOf('@');
    return at < 0
      ? { kind: 'service', service: rest, versionRange: '' }
      : { kind: 'service', service: rest.slice(0, at), versionRange: rest.slice(at + 1) };
  }
  throw new GatewayError(
    'GW_INVALID_ARGUMENT',
    `tenant: "${tenant.slice(0, 128)}" names no target; use "agents/<agentId>" or "services/<service>[@<range>]" (the card's GRPC interface has it)`,
  );
}
