/**
 * `openclaw.gateway.v1.GatewayService` handlers: each validates its request at the boundary,
 * authorizes the action, and maps to the registry / router contracts.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import {
  GatewayError,
  Status,
  toGatewayError,
  type AckItem,
  type AgentRecord,
  type AuthAction,
  type AuthService,
  type CallerContext,
  type GatewayHooks,
  type GatewayInfo,
  type Identity,
  type MessageEnvelope,
  type PublishFeedback,
  type RegistryService,
  type RouterService,
  type SendOutcome,
} from '../../kernel';
import {
  AckKind,
  HealthStatus_Status,
  OriginalOutcome,
  type AckRequest,
  type AckResult,
  type AgentInfo,
  type AgentStatus,
  type AgentStatusRequest,
  type BatchResult,
  type DeregisterRequest,
  type DeregisterResult,
  type DiscoverRequest,
  type DiscoverResult,
  type HealthRequest,
  type HealthStatus,
  type HeartbeatRequest,
  type HeartbeatResult,
  type Message,
  type MessageBatch,
  type RegistrationResult,
  type SendResult,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { peerOf, type CallGuard } from './call-guard';
import { toServiceError } from './error-status';
import { isMalformed } from './strict-decoding';
import { acceptEnvelope as importedAcceptEnvelope, envelopeToProto, healthToProto, recordToProto, stateToProto } from './proto-mapping';
import {
  checkAck,
  checkAgentId,
  checkAgentInfo,
  checkBatch,
  checkDiscover,
  checkHealth,
  checkMessage as importedCheckMessage,
} from './request-validation';
import type { IdentityQuotas } from './identity-quotas';
import { checkAckAgent, checkSender, discoverable, INSTANCE_TOKEN_HEADER, SenderCheck } from './caller-checks';
import type { SessionStreams } from './session-streams';

export interface GatewayServiceDeps {
  guard: CallGuard;
  auth: AuthService;
  hooks: GatewayHooks;
  registry: RegistryService;
  router: RouterService;
  gateway: GatewayInfo;
  streams: SessionStreams;
  quotas: IdentityQuotas;
  maxBatchMessages: number;
  maxPublishInFlight: number;
  defaultRequestTimeoutMs: number;
  /** Whether the transport is draining (HealthCheck reports it). */
  draining(): boolean;
}

/** Read once: through tsx an imported binding is a getter per access, and these run per published message. */
const checkMessage = importedCheckMessage;
const acceptEnvelope = importedAcceptEnvelope;

const ACK_KINDS: Record<number, AckItem['kind']> = {
  [AckKind.ACK_KIND_ACK]: 'ack',
  [AckKind.ACK_KIND_NACK]: 'nack',
  [AckKind.ACK_KIND_IN_PROGRESS]: 'in-progress',
};

export function gatewayServiceHandlers(deps: GatewayServiceDeps): UntypedServiceImplementation {
  const { guard, registry, router, gateway } = deps;

  /** The action and resource a message needs permission for, from its (validated) target. */
  function authorizeMessage(message: Message, identity: Identity, prefix: string, request = false): void {
    guard.authorize(identity, messageAction(message, request), messageResource(message), prefix, targetField(message));
  }

  function ownAgent(agentId: string, identity: Identity, field: string) {
    const agent = registry.get(agentId);
    if (!agent) throw new GatewayError('GW_NOT_FOUND', `${field}: agent "${agentId}" is not registered`, { field });
    if (agent.identity !== undefined && agent.identity !== identity.id) {
      throw new GatewayError('GW_PERMISSION_DENIED', `${field}: agent "${agentId}" was registered by another identity`, { field });
    }
    return agent;
  }

  /**
   * `discover` on an agent, asked before NOT_FOUND, by the agent's service or its id: whoever may
   * not see an agent cannot tell a registered id from an unknown one either. An agent's own
   * identity may always look at it.
   */
  function authorizeAgentView(identity: Identity, agentId: string, agent: AgentRecord | undefined): void {
    if (agent !== undefined && agent.identity === identity.id) return;
    if (agent === undefined || !deps.auth.authorize({ identity, action: 'discover', resource: agent.service }).allowed) {
      guard.authorize(identity, 'discover', agentId, 'agent_id');
    }
  }

  function caller(identity: Identity, peer: string, senderId: string): CallerContext {
    return { identity, agentId: senderId || undefined, peer };
  }

  function sendResult(outcome: SendOutcome): SendResult {
    if (outcome.error) {
      const failure = toGatewayError(outcome.error);
      return {
        messageId: outcome.messageId,
        duplicate: false,
        receivers: 0,
        stored: false,
        errorCode: failure.status,
        errorMessage: `${failure.code}: ${failure.message}`,
        original: OriginalOutcome.ORIGINAL_OUTCOME_UNKNOWN,
      };
    }
    return {
      messageId: outcome.messageId,
      duplicate: outcome.duplicate,
      receivers: outcome.receivers,
      stored: outcome.stored,
      errorCode: 0,
      errorMessage: '',
      original: originalToProto(outcome.original),
    };
  }

  function failedResult(message: Message, error: unknown): SendResult {
    const failure = toGatewayError(error);
    return {
      messageId: message.id,
      duplicate: false,
      receivers: 0,
      stored: false,
      errorCode: failure.status,
      errorMessage: `${failure.code}: ${failure.message}`,
      original: OriginalOutcome.ORIGINAL_OUTCOME_UNKNOWN,
    };
  }

  /**
   * A batch: each message is validated and authorized on its own; failures are reported in place.
   * Authorization is asked once per distinct (action, resource) of the batch: the loop is
   * synchronous, so no policy change can fall between two messages and the same question gets the
   * same answer. Only grants are reused; a refused message asks again, so each refusal keeps its
   * own error (naming its field) and its own `authFailed`. The grants live for this call only and
   * are bounded by the batch size.
   */
  async function publishBatch(messages: Message[], identity: Identity, peer: string, feedback?: PublishFeedback): Promise<BatchResult> {
    checkBatch(messages, deps.maxBatchMessages);
    const results: SendResult[] = new Array<SendResult>(messages.length);
    const senders = new SenderCheck(registry, identity);
    // Messages past the identity's publish tokens are refused in place, in order.
    const admitted = deps.quotas.takePublishTokens(identity, messages.length);
    let overRate: GatewayError | undefined;
    const accepted: MessageEnvelope[] = [];
    const positions: number[] = [];
    const now = Date.now();
    // Batches mostly repeat one target, so the last grant is checked before the set.
    let grantedAction: AuthAction | undefined;
    let grantedResource = '';
    let granted: Set<string> | undefined;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      try {
        if (i >= admitted) throw (overRate ??= deps.quotas.publishRateError(identity, messages.length - admitted));
        checkMessage(message, 'messages', i);
        if (message.senderId !== '') senders.check(message.senderId, `messages[${i}].sender_id`);
        const action = messageAction(message, false);
        const resource = messageResource(message);
        if (action !== grantedAction || resource !== grantedResource) {
          const key = `${action}\u0000${resource}`;
          if (granted === undefined || !granted.has(key)) {
            guard.authorize(identity, action, resource, `messages[${i}]`, targetField(message));
            (granted ??= new Set()).add(key);
          }
          grantedAction = action;
          grantedResource = resource;
        }
        accepted.push(acceptEnvelope(message, now));
        positions.push(i);
      } catch (error) {
        results[i] = failedResult(message, error);
      }
    }
    if (accepted.length > 0) {
      // Senders of one batch are one caller; the first sender id stands for all.
      const context = caller(identity, peer, accepted[0].senderId);
      if (feedback) context.feedback = feedback;
      const outcomes = await router.sendBatch(accepted, context);
      for (let j = 0; j < positions.length; j++) results[positions[j]] = sendResult(outcomes[j]);
    }
    return { results };
  }

  return {
    registerAgent: guard.unary<AgentInfo, RegistrationResult>('RegisterAgent', async (info, identity, call) => {
      checkAgentInfo(info);
      guard.authorize(identity, 'register', info.service, 'agent.service');
      if (info.agentId !== '') {
        const existing = registry.get(info.agentId);
        if (existing && existing.identity !== undefined && existing.identity !== identity.id) {
          throw new GatewayError('GW_ALREADY_EXISTS', `agent.agent_id: "${info.agentId}" is registered by another identity`, {
            field: 'agent.agent_id',
          });
        }
      }
      const instanceToken = call.metadata.get(INSTANCE_TOKEN_HEADER)[0];
      const release = deps.quotas.beginRegistration(identity, info.agentId);
      let registration;
      try {
        registration = await registry.register(
          info,
          typeof instanceToken === 'string' && instanceToken !== '' ? { identity, instanceToken } : { identity },
        );
        deps.quotas.registered(registration.record);
      } finally {
        release();
      }
      const { record, replaced } = registration;
      return {
        agentId: record.agentId,
        leaseTtlMs: record.leaseTtlMs,
        leaseExpiresAtMs: record.leaseExpiresAt,
        gatewayId: record.gatewayId,
        replaced,
      };
    }),

    deregisterAgent: guard.unary<DeregisterRequest, DeregisterResult>('DeregisterAgent', async (request, identity, _call) => {
      checkAgentId(request.agentId, 'agent_id');
      if (request.reason.length > 256)
        throw new GatewayError('GW_INVALID_ARGUMENT', 'reason: is longer than 256 characters', { field: 'reason' });
      const agent = ownAgent(request.agentId, identity, 'agent_id');
      guard.authorize(identity, 'register', agent.service, 'agent_id');
      const removed = await registry.deregister(request.agentId, request.reason || 'deregistered by the agent');
      return { removed };
    }),

    heartbeat: guard.unary<HeartbeatRequest, HeartbeatResult>('Heartbeat', async (request, identity) => {
      checkAgentId(request.agentId, 'agent_id');
      ownAgent(request.agentId, identity, 'agent_id');
      const record = await registry.renew(request.agentId);
      return { leaseExpiresAtMs: record.leaseExpiresAt, state: stateToProto(record.state) };
    }),

    discover: guard.unary<DiscoverRequest, DiscoverResult>('Discover', (query, identity) => {
      checkDiscover(query);
      // A named service is asked about once, and refused by name; otherwise only the agents of
      // services the caller may discover are returned.
      if (query.service !== '') guard.authorize(identity, 'discover', query.service, 'service');
      const agents = registry.discover({
        service: query.service || undefined,
        versionRange: query.versionRange || undefined,
        tags: query.tags,
        capabilities: query.capabilities,
        routableOnly: query.routableOnly,
        limit: query.limit || undefined,
      });
      const visible = query.service !== '' ? agents : discoverable(deps.auth, identity, agents);
      return { agents: visible.map(recordToProto) };
    }),

    getAgentStatus: guard.unary<AgentStatusRequest, AgentStatus>('GetAgentStatus', (request, identity) => {
      checkAgentId(request.agentId, 'agent_id');
      const agent = registry.get(request.agentId);
      authorizeAgentView(identity, request.agentId, agent);
      if (!agent) throw new GatewayError('GW_NOT_FOUND', `agent_id: agent "${request.agentId}" is not registered`, { field: 'agent_id' });
      return { agent: recordToProto(agent) };
    }),

    sendMessage: guard.unary<Message, SendResult>('SendMessage', async (message, identity, _call, peer) => {
      checkMessage(message, 'message');
      checkSender(registry, identity, message.senderId, 'message.sender_id');
      authorizeMessage(message, identity, 'message');
      if (deps.quotas.takePublishTokens(identity, 1) === 0) throw deps.quotas.publishRateError(identity);
      const outcome = await router.send(acceptEnvelope(message, Date.now()), caller(identity, peer, message.senderId));
      return sendResult(outcome);
    }),

    publishBatch: guard.unary<MessageBatch, BatchResult>('PublishBatch', (batch, identity, _call, peer) =>
      publishBatch(batch.messages, identity, peer),
    ),

    request: guard.unary<Message, Message>('Request', async (message, identity, call, peer) => {
      checkMessage(message, 'message');
      checkSender(registry, identity, message.senderId, 'message.sender_id');
      authorizeMessage(message, identity, 'message', true);
      if (deps.quotas.takePublishTokens(identity, 1) === 0) throw deps.quotas.publishRateError(identity);
      const callDeadline = call.getDeadline();
      const deadlineMs = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
      const deadline = Number.isFinite(deadlineMs) ? deadlineMs : Date.now() + deps.defaultRequestTimeoutMs;
      const abort = new AbortController();
      const onCancelled = (): void => abort.abort(new GatewayError('GW_CANCELLED', 'the requester cancelled the call'));
      call.on('cancelled', onCancelled);
      try {
        const context = caller(identity, peer, message.senderId);
        context.signal = abort.signal;
        context.deadline = deadline;
        const reply = await router.request(acceptEnvelope(message, Date.now()), context, { deadline, signal: abort.signal });
        return envelopeToProto(reply);
      } finally {
        call.removeListener('cancelled', onCancelled);
      }
    }),

    ack: guard.unary<AckRequest, AckResult>('Ack', (request, identity, _call, peer) => {
      checkAck(request, deps.maxBatchMessages);
      checkAckAgent(registry, identity, request.agentId);
      const items: AckItem[] = request.acks.map((item) =>
        item.reason
          ? { deliveryTag: item.deliveryTag, kind: ACK_KINDS[item.kind], reason: item.reason }
          : { deliveryTag: item.deliveryTag, kind: ACK_KINDS[item.kind] },
      );
      const outcomes = router.ack(items, caller(identity, peer, request.agentId));
      return { outcomes: outcomes.map((outcome) => ({ deliveryTag: outcome.deliveryTag, result: outcome.result })) };
    }),

    healthCheck: guard.unary<HealthRequest, HealthStatus>(
      'HealthCheck',
      (request, identity) => {
        checkHealth(request);
        const status: HealthStatus = {
          status: deps.draining() ? HealthStatus_Status.STATUS_DRAINING : HealthStatus_Status.STATUS_SERVING,
          gatewayId: gateway.id,
          version: gateway.version,
          agentHealth: 0,
          agentState: 0,
          uptimeMs: Date.now() - gateway.startedAt,
        };
        if (request.agentId === '') return status;
        const agent = registry.get(request.agentId);
        authorizeAgentView(identity, request.agentId, agent);
        if (!agent) throw new GatewayError('GW_NOT_FOUND', `agent_id: agent "${request.agentId}" is not registered`, { field: 'agent_id' });
        if (request.probeId !== '') {
          // Only the agent itself may answer its probes: anybody else could keep a hung agent in routing.
          if (agent.identity !== identity.id) {
            throw new GatewayError(
              'GW_PERMISSION_DENIED',
              `probe_id: "${identity.id}" may not answer the probes of "${request.agentId}": that agent was registered by another identity`,
              { field: 'probe_id' },
            );
          }
          deps.hooks.probeAnswered.call(request.agentId, request.probeId);
        }
        status.agentHealth = healthToProto(agent.health);
        status.agentState = stateToProto(agent.state);
        return status;
      },
      { servedWhileDraining: true },
    ),

    subscribe: deps.streams.handle,

    publishStream: (call: ServerDuplexStream<MessageBatch, BatchResult>) => publishStream(call, deps, publishBatch),
  };
}

/**
 * A long-lived publish stream: one BatchResult per batch, in order. At most `maxPublishInFlight`
 * batches are unanswered at once; beyond it the transport pauses reading (HTTP/2 flow control then
 * slows the client) instead of buffering without bound.
 *
 * Batches are routed one after another, but when the router reports a batch routed
 * (`feedback.routed`) the next one does not wait for its durable sync: batch N+1 is routed while
 * N's lmdb transaction is being synced, so the store commits several frames per fsync (group
 * commit) instead of one. Results are still written strictly in order. A batch that fails (a
 * refused frame, draining) stops the routing of later frames and ends the stream after the results
 * before it.
 *
 * Backpressure: when a batch fed a subscriber that is behind, the router hands back
 * `feedback.ready` and the next batch waits for it (the router bounds the wait with
 * `subscriberQueue.publisherWaitMs`). Frames keep arriving until `maxPublishInFlight` wait, then
 * reading pauses: the publisher is slowed to what its subscribers take instead of their queues
 * dropping. PublishBatch (unary) and SendMessage are not held.
 */
function publishStream(
  call: ServerDuplexStream<MessageBatch, BatchResult>,
  deps: GatewayServiceDeps,
  publishBatch: (messages: Message[], identity: Identity, peer: string, feedback?: PublishFeedback) => Promise<BatchResult>,
): void {
  const { guard } = deps;
  const startedAt = performance.now();
  const peer = peerOf(call);
  let inFlight = 0;
  /** Settles when the next batch may be routed. */
  let routing: Promise<unknown>;
  /** Settles when every result so far is written (or the stream failed). */
  let answering: Promise<void> = Promise.resolve();
  let routingStopped = false;
  let failed = false;
  let inputEnded = false;
  /** A malformed frame arrived: no more input is taken, and the stream ends failed. */
  let inputRefused = false;
  let completed = false;
  let identity: Identity | undefined;

  const fail = (error: unknown): void => {
    if (failed) return;
    failed = true;
    const serviceError = toServiceError(error);
    call.emit('error', serviceError);
    guard.completed('PublishStream', serviceError.code, startedAt);
  };
  const maybeEnd = (): void => {
    if (inputEnded && inFlight === 0 && !failed && !completed && !inputRefused) {
      completed = true;
      call.end();
      guard.completed('PublishStream', Status.OK, startedAt);
    }
  };
  const stopRouting = (): void => {
    routingStopped = true;
  };

  try {
    guard.admit();
  } catch (error) {
    fail(error);
    return;
  }
  deps.hooks.sessionChanged.call({ kind: 'stream', change: 'opened', transport: 'grpc', method: 'PublishStream' });
  call.on('close', () => deps.hooks.sessionChanged.call({ kind: 'stream', change: 'closed', transport: 'grpc', method: 'PublishStream' }));
  const authenticated = guard.authenticate(call).then((found) => {
    const release = deps.quotas.openStream(found, 0);
    call.on('close', release);
    // A stream that failed or ended may not be closed yet: its quota is given back either way.
    call.on('finish', release);
    identity = found;
  });
  authenticated.catch(fail);
  routing = authenticated;

  call.on('data', (batch: MessageBatch) => {
    if (failed || inputRefused) return;
    // A frame that is not a MessageBatch ends the stream with INVALID_ARGUMENT once the frames
    // before it are answered; nothing after it is routed.
    if (isMalformed(batch)) {
      inputRefused = true;
      answering = answering.then(() => fail(batch.error));
      return;
    }
    inFlight++;
    if (inFlight >= deps.maxPublishInFlight) call.pause();
    // Wrapped in an object so the step settles once routed, not once the batch's promise does.
    const routed = routing.then(() => {
      if (failed || routingStopped) return undefined;
      if (deps.draining()) throw new GatewayError('GW_DRAINING', 'the gateway is draining; reconnect to another gateway');
      const feedback: PublishFeedback = {};
      const result = publishBatch(batch.messages, identity!, peer, feedback);
      // Awaited in order below, unless the stream failed first: never an unhandled rejection.
      result.catch(() => undefined);
      return { feedback, result };
    });
    routing = routed.then((step) => {
      if (step === undefined) return undefined;
      // Routed, but a subscriber it fed is behind: route nothing more until it has room (bounded
      // by the router). Reading pauses once maxPublishInFlight batches wait, so the publisher feels it.
      if (step.feedback.routed === true) return step.feedback.ready;
      // Not known to be routed (refused, or nothing reached the router): wait for the outcome.
      return step.result.then(() => undefined, stopRouting);
    }, stopRouting);
    answering = answering.then(async () => {
      try {
        const step = await routed;
        if (step === undefined || failed) return;
        const result = await step.result;
        if (!failed) call.write(result);
      } catch (error) {
        stopRouting();
        fail(error);
      } finally {
        inFlight--;
      }
      if (failed) return;
      if (inFlight < deps.maxPublishInFlight) call.resume();
      maybeEnd();
    });
  });
  call.on('end', () => {
    inputEnded = true;
    void answering.then(maybeEnd);
  });
  call.on('error', () => undefined);
}

function messageAction(message: Message, request: boolean): AuthAction {
  if (request) return 'request';
  return message.topic !== '' ? 'publish' : 'send';
}

/** The validated message's one target: its topic, agent id or service. */
function messageResource(message: Message): string {
  return message.topic !== '' ? message.topic : message.agentId !== '' ? message.agentId : message.service;
}

function targetField(message: Message): string {
  return message.topic !== '' ? 'topic' : message.agentId !== '' ? 'agent_id' : 'service';
}

/** Read once: an imported enum is a getter per access through tsx, and this runs per published message. */
const ORIGINAL_UNKNOWN = OriginalOutcome.ORIGINAL_OUTCOME_UNKNOWN;
const ORIGINAL_STORED = OriginalOutcome.ORIGINAL_OUTCOME_STORED;
const ORIGINAL_DELIVERED = OriginalOutcome.ORIGINAL_OUTCOME_DELIVERED;
const ORIGINAL_DEAD_LETTERED = OriginalOutcome.ORIGINAL_OUTCOME_DEAD_LETTERED;

function originalToProto(original: SendOutcome['original']): OriginalOutcome {
  if (original === undefined) return ORIGINAL_UNKNOWN;
  if (original === 'stored') return ORIGINAL_STORED;
  if (original === 'delivered') return ORIGINAL_DELIVERED;
  if (original === 'dead-lettered') return ORIGINAL_DEAD_LETTERED;
  return ORIGINAL_UNKNOWN;
}
