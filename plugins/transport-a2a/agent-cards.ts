/**
 * Agent cards from registry data. An agent's card: name (its id), description and skills from its
 * optional profile (else built from its service, capabilities and tags), version, the provider
 * from the options, one JSON-RPC interface at its base URL (v1.0, and v0.3 for older clients),
 * and the security schemes of the auth plugin. A service's card is built the same way from its
 * newest routable instance, with the skills of all of them. No agent, no card: the caller answers 404.
 */
import semver from 'semver';
import { AgentCard, type AgentSkill, type SecurityScheme } from '@a2a-js/sdk';
import type { AgentRecord, AuthService, RegistryService } from '../../kernel';
import { A2A_CAPABILITY, A2A_CONTENT_TYPE } from './message-mapping';

export interface CardSettings {
  provider: { organization: string; url: string };
  gatewayId: string;
  gatewayVersion: string;
  pushNotifications: boolean;
}

const GRPC_PLACEHOLDER = 'grpc-listener';

const LEGACY_VERSION = '0.3';
const CURRENT_VERSION = '1.0';

export class AgentCards {
  /** `host:port` of the gRPC listener serving A2AService (asked per card: it binds when its plugin starts). */
  grpcAddress?: () => string | undefined;

  constructor(
    private readonly registry: RegistryService,
    private readonly auth: AuthService,
    private readonly settings: CardSettings,
  ) {}

  /** The card of a registered agent that is not terminated, at `base` (ends with `/`). */
  agentCard(agentId: string, base: string): AgentCard | undefined {
    const record = this.registry.get(agentId);
    if (!record || record.state === 'terminated') return undefined;
    return this.card(record.agentId, [record], base, `agents/${record.agentId}`);
  }

  /** The card of a service with at least one instance (in the range, when given). */
  serviceCard(service: string, versionRange: string, base: string): AgentCard | undefined {
    const instances = this.registry.discover({ service, versionRange: versionRange || undefined });
    const live = instances.filter((record) => record.state !== 'terminated');
    if (live.length === 0) return undefined;
    return this.card(service, live, base, `services/${service}${versionRange ? `@${versionRange}` : ''}`);
  }

  /** The gateway's own card: what it is and which services it reaches, as skills. */
  gatewayCard(base: string, maxEntries: number): AgentCard {
    const services = new Map<string, AgentRecord>();
    for (const record of this.registry.discover({ limit: maxEntries }))
      if (!services.has(record.service)) services.set(record.service, record);
    return {
      ...this.skeleton(
        base,
        'OpenClaw Gateway',
        `Agent registry and router (gateway ${this.settings.gatewayId}). Every agent is at ${base}agents/<agentId>/, every service at ${base}services/<service>/; GET ${base}agents and ${base}services list their cards.`,
        this.settings.gatewayVersion,
      ),
      supportedInterfaces: [],
      skills: [...services.values()].map((record) => ({
        id: `service:${record.service}`,
        name: record.service,
        description: `${record.profile?.description || `service ${record.service}`} — ${base}services/${record.service}/`,
        tags: record.capabilities,
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      })),
    };
  }

  /** What the SDK checks a request's A2A-Version against: JSON-RPC in v1.0 and v0.3. */
  protocolCard(): AgentCard {
    return this.skeleton(
      'http://localhost/',
      'OpenClaw Gateway',
      'A2A access to the agents of an OpenClaw Gateway',
      this.settings.gatewayVersion,
      '',
      GRPC_PLACEHOLDER,
    );
  }

  /** Agents for the catalogue, filtered by capability and `key:value` tags. */
  agents(filter: { capabilities: string[]; tags: Record<string, string> }, limit: number): AgentRecord[] {
    return this.registry
      .discover({ capabilities: filter.capabilities, tags: filter.tags, limit })
      .filter((record) => record.state !== 'terminated');
  }

  private card(name: string, records: readonly AgentRecord[], base: string, tenant: string): AgentCard {
    const newest = records.reduce((best, record) => (semver.compare(record.version, best.version) > 0 ? record : best));
    const a2a = records.every((record) => record.capabilities.includes(A2A_CAPABILITY));
    const modes = a2a ? ['text/plain', 'application/json', A2A_CONTENT_TYPE] : ['text/plain', 'application/json'];
    const card = this.skeleton(
      base,
      name,
      newest.profile?.description || describe(newest, records.length),
      newest.version,
      tenant,
      this.grpcAddress?.(),
    );
    card.skills = skillsOf(records);
    card.defaultInputModes = modes;
    card.defaultOutputModes = modes;
    return card;
  }

  private skeleton(base: string, name: string, description: string, version: string, tenant = '', grpc?: string): AgentCard {
    const { securitySchemes, securityRequirements } = this.security();
    const grpcInterfaces = grpc ? [{ url: grpc, protocolBinding: 'GRPC', tenant, protocolVersion: CURRENT_VERSION }] : [];
    return {
      name,
      description,
      supportedInterfaces: [
        { url: base, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: CURRENT_VERSION },
        { url: withPath(base, 'rest'), protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: CURRENT_VERSION },
        { url: base, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: LEGACY_VERSION },
        { url: withPath(base, 'rest'), protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: LEGACY_VERSION },
        ...grpcInterfaces,
      ],
      provider: { organization: this.settings.provider.organization, url: this.settings.provider.url },
      version,
      capabilities: { streaming: true, pushNotifications: this.settings.pushNotifications, extensions: [], extendedAgentCard: true },
      securitySchemes,
      securityRequirements,
      defaultInputModes: ['text/plain', 'application/json'],
      defaultOutputModes: ['text/plain', 'application/json'],
      skills: [],
      signatures: [],
    };
  }

  private security(): Pick<AgentCard, 'securitySchemes' | 'securityRequirements'> {
    const schemes = this.auth.schemes?.() ?? inferSchemes(this.auth);
    const securitySchemes: Record<string, SecurityScheme> = {};
    const securityRequirements: AgentCard['securityRequirements'] = [];
    for (const scheme of schemes) {
      if (scheme === 'mtls') {
        securitySchemes.mtls = {
          scheme: {
            $case: 'mtlsSecurityScheme',
            value: { description: 'a client certificate signed by the gateway CA (SPIFFE id in the SAN)' },
          },
        };
        securityRequirements.push({ schemes: { mtls: { list: [] } } });
      } else if (scheme === 'bearer-jwt') {
        securitySchemes.bearer = {
          scheme: {
            $case: 'httpAuthSecurityScheme',
            value: { description: "a JWT from the gateway's issuer", scheme: 'Bearer', bearerFormat: 'JWT' },
          },
        };
        securityRequirements.push({ schemes: { bearer: { list: [] } } });
      }
    }
    return { securitySchemes, securityRequirements };
  }
}

/** `suffix` appended to the path of `base`, before its query (`?version=…`). */
function withPath(base: string, suffix: string): string {
  const at = base.indexOf('?');
  return at < 0 ? `${base}${suffix}` : `${base.slice(0, at)}${suffix}${base.slice(at)}`;
}

/** Card JSON as served (proto JSON form of the SDK). */
export function cardJson(card: AgentCard): unknown {
  return AgentCard.toJSON(card);
}

function inferSchemes(auth: AuthService): Array<'mtls' | 'bearer-jwt'> {
  if (auth.loopbackOnly()) return [];
  return auth.serverTls()?.requireClientCert ? ['mtls'] : ['bearer-jwt'];
}

function describe(record: AgentRecord, instances: number): string {
  const capabilities = record.capabilities.filter((capability) => capability !== A2A_CAPABILITY);
  const what = capabilities.length > 0 ? `; capabilities: ${capabilities.join(', ')}` : '';
  const count = instances > 1 ? ` (${instances} instances)` : '';
  return `${record.service} ${record.version}${count} behind OpenClaw Gateway${what}`;
}

/** Profile skills when agents gave some; else one per capability, tagged with the agent's tags. */
function skillsOf(records: readonly AgentRecord[]): AgentSkill[] {
  const skills = new Map<string, AgentSkill>();
  for (const record of records) {
    for (const skill of record.profile?.skills ?? []) {
      if (!skills.has(skill.id)) skills.set(skill.id, { ...skill, inputModes: [], outputModes: [], securityRequirements: [] });
    }
  }
  if (skills.size > 0) return [...skills.values()];
  for (const record of records) {
    const tags = Object.entries(record.tags).map(([key, value]) => `${key}:${value}`);
    const capabilities = record.capabilities.filter((capability) => capability !== A2A_CAPABILITY);
    for (const capability of capabilities.length > 0 ? capabilities : [record.service]) {
      if (skills.has(capability)) continue;
      skills.set(capability, {
        id: capability,
        name: capability,
        description: `${capability} (service ${record.service})`,
        tags,
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      });
    }
  }
  return [...skills.values()];
}
