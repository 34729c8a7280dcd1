/**
 * Checks that tie a call to what its caller's identity owns: who may send as an agent
 * (`sender_id`), who may ack for one, and which registry records a caller may see (`discover`).
 * They live in the transport so every router and registry gets them without knowing about auth.
 */
import { GatewayError, type AgentRecord, type AuthService, type Identity, type RegistryService } from '../../kernel';

/** gRPC metadata a managed instance registers with (its `OPENCLAW_INSTANCE_TOKEN`). */
export const INSTANCE_TOKEN_HEADER = 'x-openclaw-instance-token';

/**
 * A message's `sender_id`, when set, must be an agent registered by the caller's identity: a
 * caller cannot make its messages look like another agent's (replies, hop accounting and the
 * receiver's trust all read it). Unknown ids are refused too: the id could be registered later by
 * someone else.
 */
export function checkSender(registry: RegistryService, identity: Identity, senderId: string, field: string): void {
  if (senderId === '') return;
  const agent = registry.get(senderId);
  if (agent !== undefined && agent.identity === identity.id) return;
  throw new GatewayError(
    'GW_PERMISSION_DENIED',
    agent === undefined
      ? `${field}: "${senderId}" is not a registered agent; register it first or leave sender_id empty`
      : `${field}: "${identity.id}" may not send as "${senderId}": that agent was registered by another identity`,
    { field },
  );
}

/** Per batch: each distinct sender id is looked up once (batches mostly repeat one). */
export class SenderCheck {
  private allowed?: string;

  constructor(
    private readonly registry: RegistryService,
    private readonly identity: Identity,
  ) {}

  check(senderId: string, field: string): void {
    if (senderId === '' || senderId === this.allowed) return;
    checkSender(this.registry, this.identity, senderId, field);
    this.allowed = senderId;
  }
}

/**
 * An Ack naming an agent registered by another identity is refused outright; the router then
 * accepts each tag only from the identity its delivery was made to (`mayAcknowledge`).
 */
export function checkAckAgent(registry: RegistryService, identity: Identity, agentId: string): void {
  if (agentId === '') return;
  const agent = registry.get(agentId);
  if (agent && agent.identity !== undefined && agent.identity !== identity.id) {
    throw new GatewayError(
      'GW_PERMISSION_DENIED',
      `agent_id: "${identity.id}" may not ack for "${agentId}": that agent was registered by another identity`,
      {
        field: 'agent_id',
      },
    );
  }
}

/**
 * The records whose service the caller may `discover`, asked once per distinct service (a result
 * set repeats few services). A caller with no grant sees an empty list: nothing is revealed.
 */
export function discoverable(auth: AuthService, identity: Identity, agents: readonly AgentRecord[]): AgentRecord[] {
  const decisions = new Map<string, boolean>();
  const visible: AgentRecord[] = [];
  for (const agent of agents) {
    let allowed = decisions.get(agent.service);
    if (allowed === undefined) {
      allowed = auth.authorize({ identity, action: 'discover', resource: agent.service }).allowed;
      decisions.set(agent.service, allowed);
    }
    if (allowed) visible.push(agent);
  }
  return visible;
}
