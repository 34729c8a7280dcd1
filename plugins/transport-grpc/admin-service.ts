/**
 * `openclaw.gateway.v1.AdminService` handlers: operator actions, all guarded by the `admin`
 * action on `*` and audited. Managed-agent actions need a supervisor plugin (GW_UNIMPLEMENTED
 * without one); PushPolicy needs an auth plugin that accepts policies.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  GatewayError,
  toGatewayError,
  type AuthService,
  type GatewayHooks,
  type GatewayInfo,
  type Identity,
  type RegistryService,
  type ServiceLookup,
  type SupervisorService,
} from '../../kernel';
import type {
  AdminResult,
  AgentRef,
  GatewayStatusRequest,
  GatewayStatusResult,
  ListAgentsRequest,
  ListAgentsResult,
  PolicyDocument,
  UpgradeRequest,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import type { CallGuard } from './call-guard';
import { recordToProto } from './proto-mapping';
import { checkAgentId, checkUpgrade } from './request-validation';

/** Auth plugins that accept policies at runtime expose this (auth-standard does). */
interface PolicyPushing {
  pushPolicy(json: string, actor: string): Promise<{ version: string }>;
}

const MAX_POLICY_BYTES = 1024 * 1024;

export interface AdminServiceDeps {
  guard: CallGuard;
  hooks: GatewayHooks;
  auth: AuthService;
  registry: RegistryService;
  supervisor?: SupervisorService;
  services: ServiceLookup;
  gateway: GatewayInfo;
}

export function adminServiceHandlers(deps: AdminServiceDeps): UntypedServiceImplementation {
  const { guard, hooks, registry, gateway } = deps;

  function admin<Request, Response>(
    method: string,
    action: (request: Request, identity: Identity) => Promise<Response> | Response,
    target: (request: Request) => string = () => '*',
  ) {
    return guard.unary<Request, Response>(method, async (request, identity, _call) => {
      guard.authorize(identity, 'admin', '*', 'method');
      try {
        const response = await action(request, identity);
        hooks.audit.call({ actor: identity.id, action: method, target: target(request), outcome: 'ok', at: Date.now() });
        return response;
      } catch (error) {
        const failure = toGatewayError(error);
        hooks.audit.call({
          actor: identity.id,
          action: method,
          target: target(request),
          outcome: 'failed',
          detail: failure.message,
          at: Date.now(),
        });
        throw failure;
      }
    });
  }

  function supervisor(): SupervisorService {
    if (!deps.supervisor)
      throw new GatewayError('GW_UNIMPLEMENTED', 'no supervisor plugin is configured; managed agents are not available');
    return deps.supervisor;
  }

  function managedAction(method: string, run: (supervisor: SupervisorService, agentId: string) => Promise<void>) {
    return admin<AgentRef, AdminResult>(
      method,
      async (request) => {
        checkAgentId(request.agentId, 'agent_id');
        await run(supervisor(), request.agentId);
        return { ok: true, message: `${method} ${request.agentId}: done` };
      },
      (request) => request.agentId,
    );
  }

  return {
    listAgents: admin<ListAgentsRequest, ListAgentsResult>('ListAgents', (request) => {
      if (request.managedOnly) return { agents: supervisor().list().map(recordToProto) };
      const agents = registry.discover({});
      if (deps.supervisor) {
        // Managed instances that have not registered (yet, or any more) are listed too.
        const known = new Set(agents.map((agent) => agent.agentId));
        for (const managed of deps.supervisor.list()) if (!known.has(managed.agentId)) agents.push(managed);
      }
      return { agents: agents.map(recordToProto) };
    }),
    startAgent: managedAction('StartAgent', (s, id) => s.start(id)),
    stopAgent: managedAction('StopAgent', (s, id) => s.stop(id)),
    restartAgent: managedAction('RestartAgent', (s, id) => s.restart(id)),
    drainAgent: managedAction('DrainAgent', (s, id) => s.drain(id)),
    upgradeAgent: admin<UpgradeRequest, AdminResult>(
      'UpgradeAgent',
      async (request) => {
        checkUpgrade(request);
        await supervisor().upgrade(request.agentId, {
          command: request.command || undefined,
          args: request.args.length > 0 ? request.args : undefined,
          version: request.version || undefined,
        });
        return { ok: true, message: `UpgradeAgent ${request.agentId}: every instance runs the new version` };
      },
      (request) => request.agentId,
    ),
    pushPolicy: admin<PolicyDocument, AdminResult>('PushPolicy', async (request, identity) => {
      if (request.json === '') throw new GatewayError('GW_INVALID_ARGUMENT', 'json: is required', { field: 'json' });
      if (request.json.length > MAX_POLICY_BYTES)
        throw new GatewayError('GW_INVALID_ARGUMENT', `json: is larger than ${MAX_POLICY_BYTES} bytes`, { field: 'json' });
      const auth = deps.auth as AuthService & Partial<PolicyPushing>;
      if (typeof auth.pushPolicy !== 'function')
        throw new GatewayError('GW_UNIMPLEMENTED', 'the configured auth plugin does not accept policies at runtime');
      const { version } = await auth.pushPolicy(request.json, identity.id);
      return { ok: true, message: `policy ${version} active` };
    }),
    gatewayStatus: admin<GatewayStatusRequest, GatewayStatusResult>('GatewayStatus', () => ({
      gatewayId: gateway.id,
      version: gateway.version,
      stage: gateway.stage(),
      uptimeMs: Date.now() - gateway.startedAt,
      plugins: gateway.plugins().map((plugin) => ({ name: plugin.name, kind: plugin.kind, version: plugin.version })),
      agents: registry.size(),
      addresses: deps.services.transports().flatMap((transport) => transport.addresses()),
    })),
  };
}
