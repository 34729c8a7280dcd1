/**
 * Minimal real implementations of the registry, router and auth contracts, for transport and SDK
 * tests while (or where) the full built-ins are not available. They really register, route, fan
 * out and reply; they just skip leases timers, durability and policies.
 */
import { randomUUID } from 'node:crypto';
import semver from 'semver';
import {
  definePlugin,
  GatewayError,
  REPLY_TOPIC_PREFIX,
  type AgentRecord,
  type AuthService,
  type Delivery,
  type EventSink,
  type MessageEnvelope,
  type PluginDefinition,
  type RegistryService,
  type RouterService,
  type RouterSession,
} from '../../kernel';

export function minimalRegistry(): PluginDefinition<any, RegistryService> {
  return definePlugin<Record<string, unknown>, RegistryService>({
    name: 'registry-minimal',
    kind: 'registry',
    version: '0.0.1',
    schema: { type: 'object' },
    setup(ctx) {
      const agents = new Map<string, AgentRecord>();
      let revision = 0;
      const service: RegistryService = {
        async register(info, context) {
          const agentId = info.agentId || `agent-${randomUUID().slice(0, 8)}`;
          const replaced = agents.has(agentId);
          const now = Date.now();
          const leaseTtlMs = info.leaseTtlMs || 10_000;
          const record: AgentRecord = {
            ...info,
            agentId,
            leaseTtlMs,
            state: 'running',
            health: 'unknown',
            identity: context.identity?.id,
            sessionId: context.sessionId,
            gatewayId: ctx.gateway.id,
            managed: false,
            registeredAt: now,
            leaseExpiresAt: now + leaseTtlMs,
            revision: ++revision,
          };
          agents.set(agentId, record);
          ctx.hooks.agentRegistered.call(record);
          return { record, replaced };
        },
        async deregister(agentId, reason) {
          const record = agents.get(agentId);
          if (!record) return false;
          agents.delete(agentId);
          ctx.hooks.agentDeregistered.call(record, reason);
          return true;
        },
        async renew(agentId) {
          const record = agents.get(agentId);
          if (!record) throw new GatewayError('GW_NOT_FOUND', `agent "${agentId}" is not registered`);
          record.leaseExpiresAt = Date.now() + record.leaseTtlMs;
          return record;
        },
        attachSession(agentId, sessionId) {
          const record = agents.get(agentId);
          if (!record) throw new GatewayError('GW_NOT_FOUND', `agent "${agentId}" is not registered`);
          record.sessionId = sessionId;
        },
        sessionClosed(sessionId) {
          for (const record of [...agents.values()]) {
            if (record.sessionId === sessionId) void service.deregister(record.agentId, 'session closed');
          }
        },
        setState(agentId, state, reason) {
          const record = agents.get(agentId);
          if (!record) throw new GatewayError('GW_NOT_FOUND', `agent "${agentId}" is not registered`);
          const from = record.state;
          record.state = state;
          ctx.hooks.agentStateChanged.call({ agentId, service: record.service, from, to: state, reason, at: Date.now() });
          return record;
        },
        setHealth(agentId, health, reason) {
          const record = agents.get(agentId);
          if (!record) throw new GatewayError('GW_NOT_FOUND', `agent "${agentId}" is not registered`);
          const from = record.health;
          record.health = health;
          ctx.hooks.healthChanged.call({ agentId, service: record.service, from, to: health, reason, at: Date.now() });
          return record;
        },
        get: (agentId) => agents.get(agentId),
        discover(query) {
          return [...agents.values()]
            .filter((a) => !query.service || a.service === query.service)
            .filter((a) => !query.versionRange || semver.satisfies(a.version, query.versionRange))
            .filter((a) => Object.entries(query.tags ?? {}).every(([k, v]) => a.tags[k] === v))
            .filter((a) => (query.capabilities ?? []).every((c) => a.capabilities.includes(c)))
            .filter((a) => !query.routableOnly || (a.state === 'running' && (a.health === 'healthy' || a.health === 'unknown')))
            .slice(0, query.limit ?? 1000);
        },
        size: () => agents.size,
      };
      return { service };
    },
  });
}

function matches(pattern: string, topic: string): boolean {
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length || (p[i] !== '*' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

export function minimalRouter(): PluginDefinition<any, RouterService> {
  return definePlugin<Record<string, unknown>, RouterService>({
    name: 'router-minimal',
    kind: 'router',
    version: '0.0.1',
    schema: { type: 'object' },
    dependencies: [{ kind: 'registry' }],
    setup(ctx) {
      const registry = ctx.services.get('registry');
      interface MinimalSession extends RouterSession {
        sink: EventSink;
        agentId?: string;
        patterns: Set<string>;
      }
      const sessions = new Set<MinimalSession>();
      const pending = new Map<string, (reply: MessageEnvelope) => void>();
      let roundRobin = 0;

      function deliver(session: MinimalSession, delivery: Delivery): void {
        session.sink.write([{ kind: 'delivery', delivery }]);
      }
      function route(message: MessageEnvelope): number {
        message.id ||= randomUUID();
        if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) {
          const resolve = pending.get(message.correlationId);
          if (resolve) resolve(message);
          return resolve ? 1 : 0;
        }
        if (message.topic) {
          // One Delivery object for every subscriber: the transport encodes it once.
          const delivery: Delivery = { message, deliveryTag: '', attempt: 1, subscription: message.topic, ackDeadline: 0 };
          let receivers = 0;
          for (const session of sessions) {
            for (const pattern of session.patterns) {
              if (matches(pattern, message.topic)) {
                deliver(session, delivery);
                receivers++;
                break;
              }
            }
          }
          return receivers;
        }
        let agentId = message.agentId;
        if (message.service) {
          const candidates = registry
            .discover({ service: message.service, versionRange: message.versionRange || undefined, routableOnly: true })
            .filter((a) => [...sessions].some((s) => s.agentId === a.agentId));
          if (candidates.length === 0) throw new GatewayError('GW_UNAVAILABLE', `no instance of "${message.service}" is reachable`);
          agentId = candidates[roundRobin++ % candidates.length].agentId;
        }
        const session = [...sessions].find((s) => s.agentId === agentId);
        if (!session) throw new GatewayError('GW_NOT_FOUND', `agent "${agentId}" has no open session`);
        deliver(session, { message, deliveryTag: '', attempt: 1, subscription: 'inbox', ackDeadline: 0 });
        return 1;
      }

      const service: RouterService = {
        async send(message) {
          const receivers = route(message);
          return { messageId: message.id, duplicate: false, receivers, stored: false };
        },
        async sendBatch(messages) {
          return messages.map((message) => ({ messageId: message.id || randomUUID(), duplicate: false, receivers: route(message), stored: false }));
        },
        request(message, _caller, options) {
          const correlationId = randomUUID();
          message.correlationId = correlationId;
          message.replyTo = `${REPLY_TOPIC_PREFIX}${correlationId}`;
          return new Promise<MessageEnvelope>((resolve, reject) => {
            const timer = setTimeout(() => {
              pending.delete(correlationId);
              reject(new GatewayError('GW_DEADLINE_EXCEEDED', 'no reply before the deadline'));
            }, Math.max(0, options.deadline - Date.now()));
            pending.set(correlationId, (reply) => {
              clearTimeout(timer);
              pending.delete(correlationId);
              resolve(reply);
            });
            options.signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              pending.delete(correlationId);
              for (const session of sessions) {
                if (session.agentId && session.agentId === (message.agentId || undefined)) {
                  session.sink.write([{ kind: 'cancel', correlationId, reason: 'requester cancelled' }]);
                }
              }
              reject(new GatewayError('GW_CANCELLED', 'cancelled'));
            });
            try {
              route(message);
            } catch (error) {
              clearTimeout(timer);
              pending.delete(correlationId);
              reject(error);
            }
          });
        },
        openSession(sink, options) {
          const session: MinimalSession = {
            id: randomUUID(),
            sink,
            agentId: options.agentId,
            patterns: new Set(),
            subscribe: (spec) => session.patterns.add(spec.pattern),
            unsubscribe: (pattern) => session.patterns.delete(pattern),
            close: () => sessions.delete(session),
          };
          sink.onWritable(() => undefined);
          sessions.add(session);
          return session;
        },
        ack: (acks) => acks.map((a) => ({ deliveryTag: a.deliveryTag, result: 'unknown' as const })),
        notify(agentId, event) {
          const session = [...sessions].find((s) => s.agentId === agentId);
          if (!session) return false;
          session.sink.write([event]);
          return true;
        },
      };
      return { service };
    },
  });
}

/** Open auth: everyone is `anonymous`; loopback listeners only. */
export function openAuth(): PluginDefinition<any, AuthService> {
  return definePlugin<Record<string, unknown>, AuthService>({
    name: 'auth-open',
    kind: 'auth',
    version: '0.0.1',
    schema: { type: 'object' },
    setup() {
      const service: AuthService = {
        authenticate: async () => ({ id: 'anonymous', method: 'open', claims: {} }),
        authorize: () => ({ allowed: true, reason: 'open mode' }),
        serverTls: () => undefined,
        loopbackOnly: () => true,
        onPolicyChange: () => () => undefined,
      };
      return { service };
    },
  });
}
