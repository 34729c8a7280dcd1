/**
 * Outbound A2A: each configured remote agent (by its card URL) becomes a registry agent of the
 * configured service, so native agents reach it the way they reach any service (`Request`). The
 * gateway holds the remote's inbox session: a request's payload is sent as one text part with the
 * official client (`ClientFactory.createFromUrl`), and the remote's answer (its message, or the
 * last message or artifact text of its task) is the reply. A cancelled request aborts the call.
 *
 * A remote whose card cannot be fetched at start is retried every 30 s (logged once per failure
 * streak); the lease is renewed while the gateway runs, and the agent is deregistered at stop.
 */
import type { Logger } from 'pino';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { Role, type Message, type Part, type Task } from '@a2a-js/sdk';
import { randomUUID } from 'node:crypto';
import semver from 'semver';
import {
  GatewayError,
  invalidArgument,
  toGatewayError,
  type EventSink,
  type MessageEnvelope,
  type OutboundEvent,
  type RegistryService,
  type RouterService,
  type RouterSession,
} from '../../kernel';
import type { RemoteAgentOption } from './schema';

const RETRY_MS = 30_000;
const MAX_PENDING = 1000;

export interface RemoteDeps {
  registry: RegistryService;
  router: RouterService;
  logger: Logger;
  gatewayId: string;
  requestTimeoutMs: number;
}

class RemoteAgent {
  readonly agentId: string;
  private client?: Client;
  private session?: RouterSession;
  private renewal?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private readonly pending = new Map<string, AbortController>();
  private stopped = false;
  private failing = false;

  constructor(
    private readonly deps: RemoteDeps,
    private readonly option: RemoteAgentOption,
  ) {
    this.agentId = `a2a-remote-${option.service}`;
  }

  async start(): Promise<void> {
    try {
      await this.connect();
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.deps.logger.warn({ err: error, cardUrl: this.option.cardUrl }, 'remote A2A agent unreachable; retrying every 30 s');
      this.failing = true;
      if (!this.stopped) this.retry = setTimeout(() => void this.start(), RETRY_MS).unref();
    }
  }

  private async connect(): Promise<void> {
    const headers = this.option.headers;
    const fetchWithHeaders: typeof fetch = (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        cardResolver: new DefaultAgentCardResolver({ fetchImpl: fetchWithHeaders }),
        transports: [new JsonRpcTransportFactory({ fetchImpl: fetchWithHeaders })],
      }),
    );
    this.client = await factory.createFromUrl(this.option.cardUrl, '');
    const card = await this.client.getAgentCard();
    const version = semver.valid(card.version) ?? semver.coerce(card.version)?.version ?? '0.0.0';
    const { record } = await this.deps.registry.register(
      {
        agentId: this.agentId,
        service: this.option.service,
        version,
        tags: { 'a2a-remote': 'true' },
        capabilities: ['a2a-remote'],
        leaseTtlMs: 0,
        profile: {
          description: card.description.slice(0, 1024),
          skills: card.skills.slice(0, 32).map((skill) => ({
            id: skill.id,
            name: skill.name,
            description: skill.description.slice(0, 1024),
            tags: skill.tags.slice(0, 16),
            examples: skill.examples.slice(0, 16),
          })),
        },
      },
      { managed: false },
    );
    const sink: EventSink = { write: (events) => this.onEvents(events), onWritable: () => undefined, close: () => undefined };
    this.session = this.deps.router.openSession(sink, { agentId: this.agentId, caller: { peer: 'transport-a2a:remote' } });
    this.deps.registry.attachSession(this.agentId, this.session.id);
    const renewEvery = Math.max(1000, Math.floor(record.leaseTtlMs / 3));
    this.renewal = setInterval(() => {
      this.deps.registry
        .renew(this.agentId)
        .catch((error: unknown) => this.deps.logger.warn({ err: error, agentId: this.agentId }, 'remote A2A agent lease renewal failed'));
    }, renewEvery).unref();
    this.deps.logger.info(
      { agentId: this.agentId, service: this.option.service, cardUrl: this.option.cardUrl },
      'remote A2A agent registered',
    );
  }

  private onEvents(events: readonly OutboundEvent[]): boolean {
    for (const event of events) {
      if (event.kind === 'cancel') this.pending.get(event.correlationId)?.abort();
      else if (event.kind === 'delivery') void this.handle(event.delivery.message, event.delivery.deliveryTag);
    }
    return true;
  }

  private async handle(message: MessageEnvelope, deliveryTag: string): Promise<void> {
    if (deliveryTag) this.deps.router.ack([{ deliveryTag, kind: 'ack' }], { peer: 'transport-a2a:remote' });
    if (!message.replyTo || !this.client) return;
    if (this.pending.size >= MAX_PENDING) {
      await this.reply(message, 'GW_RESOURCE_EXHAUSTED: too many requests in flight to this remote A2A agent', 'text/plain', true);
      return;
    }
    const abort = new AbortController();
    this.pending.set(message.correlationId, abort);
    const timer = setTimeout(() => abort.abort(), this.deps.requestTimeoutMs).unref();
    try {
      const text = Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength).toString('utf8');
      const outgoing: Message = {
        messageId: randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      };
      const result = await this.client.sendMessage(
        { tenant: '', message: outgoing, configuration: undefined, metadata: undefined },
        { signal: abort.signal },
      );
      await this.reply(message, answerText(result), 'text/plain', false);
    } catch (error) {
      await this.reply(message, `GW_UNAVAILABLE: the remote A2A agent failed: ${toGatewayError(error).message}`, 'text/plain', true);
    } finally {
      clearTimeout(timer);
      this.pending.delete(message.correlationId);
    }
  }

  private async reply(request: MessageEnvelope, text: string, contentType: string, failed: boolean): Promise<void> {
    const reply: MessageEnvelope = {
      id: '',
      topic: request.replyTo,
      agentId: '',
      service: '',
      versionRange: '',
      payload: Buffer.from(text, 'utf8'),
      headers: failed ? { 'a2a-remote-error': 'true' } : {},
      durable: false,
      senderId: this.agentId,
      key: '',
      hops: request.hops + 1,
      maxHops: 0,
      correlationId: request.correlationId,
      replyTo: '',
      contentType,
      createdAt: Date.now(),
      ttlMs: 0,
    };
    await this.deps.router
      .send(reply, { peer: 'transport-a2a:remote', agentId: this.agentId })
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, agentId: this.agentId }, 'reply from a remote A2A agent could not be routed'),
      );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.renewal);
    for (const abort of this.pending.values()) abort.abort();
    this.session?.close('transport-a2a stopped');
    if (this.client) await this.deps.registry.deregister(this.agentId, 'transport-a2a stopped').catch(() => false);
  }
}

/** The text of a remote answer: its message, or its task's status message and artifacts. */
function answerText(result: Message | Task): string {
  const texts = (parts: Part[]) =>
    parts.flatMap((part) =>
      part.content?.$case === 'text' ? [part.content.value] : part.content?.$case === 'data' ? [JSON.stringify(part.content.value)] : [],
    );
  if ('messageId' in result) return texts(result.parts).join('\n');
  const out = [...texts(result.status?.message?.parts ?? []), ...result.artifacts.flatMap((artifact) => texts(artifact.parts))];
  if (out.length === 0) {
    const last = [...result.history].reverse().find((entry) => entry.role === Role.ROLE_AGENT);
    if (last) out.push(...texts(last.parts));
  }
  return out.join('\n');
}

/** Remote agents registered by an operator at run time, kept across restarts. */
export interface RemoteAgentPersistence {
  load(): RemoteAgentOption[];
  save(options: RemoteAgentOption[]): Promise<void>;
}

export const MAX_REMOTE_AGENTS = 256;
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export class RemoteAgents {
  /** By service: configured ones first, then those added by an operator. */
  private readonly agents = new Map<string, { agent: RemoteAgent; option: RemoteAgentOption; added: boolean }>();

  constructor(
    private readonly deps: RemoteDeps,
    options: readonly RemoteAgentOption[],
    private readonly persistence?: RemoteAgentPersistence,
  ) {
    for (const option of options) this.agents.set(option.service, { agent: new RemoteAgent(deps, option), option, added: false });
  }

  async start(): Promise<void> {
    for (const option of this.persistence?.load() ?? []) {
      if (!this.agents.has(option.service))
        this.agents.set(option.service, { agent: new RemoteAgent(this.deps, option), option, added: true });
    }
    await Promise.all([...this.agents.values()].map(({ agent }) => agent.start()));
  }

  list(): Array<{ service: string; cardUrl: string; agentId: string; configured: boolean }> {
    return [...this.agents.values()].map(({ agent, option, added }) => ({
      service: option.service,
      cardUrl: option.cardUrl,
      agentId: agent.agentId,
      configured: !added,
    }));
  }

  /** An operator adds a remote agent (admin): registered now, and again after a restart. */
  async add(raw: unknown): Promise<{ agentId: string }> {
    const option = checkOption(raw);
    if (this.agents.has(option.service))
      throw new GatewayError('GW_ALREADY_EXISTS', `service: a remote agent for "${option.service}" exists; remove it first`, {
        field: 'service',
      });
    if (this.agents.size >= MAX_REMOTE_AGENTS)
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `${this.agents.size} remote agents are configured (the limit is ${MAX_REMOTE_AGENTS})`,
      );
    const agent = new RemoteAgent(this.deps, option);
    this.agents.set(option.service, { agent, option, added: true });
    await this.persist();
    await agent.start();
    return { agentId: agent.agentId };
  }

  /** Only operator-added agents can be removed; configured ones belong to the config file. */
  async remove(service: string): Promise<boolean> {
    const entry = this.agents.get(service);
    if (!entry) return false;
    if (!entry.added)
      throw new GatewayError('GW_FAILED_PRECONDITION', `service: "${service}" is configured in remoteAgents; change the config instead`, {
        field: 'service',
      });
    this.agents.delete(service);
    await this.persist();
    await entry.agent.stop();
    return true;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map(({ agent }) => agent.stop()));
  }

  private persist(): Promise<void> {
    return (
      this.persistence?.save([...this.agents.values()].filter((entry) => entry.added).map((entry) => entry.option)) ?? Promise.resolve()
    );
  }
}

function checkOption(raw: unknown): RemoteAgentOption {
  if (raw === null || typeof raw !== 'object')
    throw invalidArgument('body', 'must be {"cardUrl": "...", "service": "...", "headers": {...}}');
  const { cardUrl, service, headers = {} } = raw as Record<string, unknown>;
  if (typeof cardUrl !== 'string' || !/^https?:\/\/\S+$/.test(cardUrl) || cardUrl.length > 2048)
    throw invalidArgument('cardUrl', 'must be an http(s) URL of an agent card');
  if (typeof service !== 'string' || !SERVICE_NAME.test(service) || service.length > 128)
    throw invalidArgument('service', 'must be a service name ([a-z0-9][a-z0-9._-]*)');
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers))
    throw invalidArgument('headers', 'must be an object of strings');
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value !== 'string') throw invalidArgument(`headers.${key}`, 'must be a string');
    copy[key] = value;
  }
  if (Object.keys(copy).length > 32) throw invalidArgument('headers', 'has more than 32 entries');
  return { cardUrl, service, headers: copy };
}
