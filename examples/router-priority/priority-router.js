'use strict';
/**
 * The RouterService: topics with wildcards and queue groups, point-to-point to an agent's inbox or
 * a service (round-robin, or rendezvous hashing on `message.key`), request/reply over `_INBOX.`
 * topics, at-least-once delivery with acks, dedupe, hop limits — and every event written to a
 * subscriber through its priority lanes.
 */
const { GatewayError, invalidArgument, REPLY_TOPIC_PREFIX } = require('openclaw-gateway');
const { LaneSession } = require('./lane-session');
const { DurableDeliveries } = require('./durable-deliveries');
const { LANE_INDEX, LANE_NAMES } = require('./priority-lanes');
const { parsePattern, matchesTokens, BoundedCache } = require('./topic-pattern');

/** @typedef {import('openclaw-gateway').MessageEnvelope} MessageEnvelope */
/** @typedef {import('openclaw-gateway').CallerContext} CallerContext */
/** @typedef {{ session?: LaneSession, groupKey?: string, pattern: string }} TopicTarget */

class PriorityRouter {
  /**
   * @param {import('openclaw-gateway').PluginContext<any>} ctx
   * @param {import('openclaw-gateway').RegistryService} registry
   */
  constructor(ctx, registry) {
    this.ctx = ctx;
    this.options = ctx.options;
    this.registry = registry;
    this.hooks = ctx.hooks;
    this.lanes = this.options.lanes.map((lane, index) => ({
      tokens: parsePattern(lane.pattern, `lanes[${index}].pattern`),
      lane: LANE_INDEX[lane.priority],
    }));
    this.defaultLane = LANE_INDEX[this.options.defaultPriority];
    /** @type {Map<string, LaneSession>} */
    this.sessions = new Map();
    /** @type {Map<string, LaneSession>} agent id → its inbox session */
    this.inboxes = new Map();
    /** @type {Map<string, { session: LaneSession, tokens: string[], pattern: string, groupKey?: string }>} */
    this.subscriptions = new Map();
    /** @type {Map<string, { members: LaneSession[], next: number }>} */
    this.groups = new Map();
    /** @type {BoundedCache<TopicTarget[]>} topic → who gets it; cleared on any subscription change */
    this.matchCache = new BoundedCache(this.options.matchCacheSize);
    /** @type {BoundedCache<number>} topic → lane */
    this.laneCache = new BoundedCache(this.options.matchCacheSize);
    /**
     * Agents that had an inbox session here, so durable messages to them wait in an offline inbox
     * after the registry has forgotten them (bounded by `durable.maxOfflineAgents`, oldest forgotten).
     * @type {Map<string, number>}
     */
    this.knownAgents = new Map();
    /** @type {Map<string, number>} message id → when it was seen (insertion-ordered) */
    this.seenIds = new Map();
    /** @type {Map<string, { resolve(m: MessageEnvelope): void, reject(e: Error): void, timer: NodeJS.Timeout, receivers: LaneSession[], onAbort?: () => void, signal?: AbortSignal }>} */
    this.pendingRequests = new Map();
    this.sequence = 0;
    this.roundRobin = 0;
    this.durable = new DurableDeliveries(this, this.options.durable);

    const { metrics } = ctx;
    this.messages = metrics.counter({
      name: 'router_priority_messages_total',
      help: 'Messages by lane and result',
      labelNames: ['lane', 'result'],
    });
    this.limitHits = metrics.counter({
      name: 'router_priority_limit_hits_total',
      help: 'Limits hit by the priority router',
      labelNames: ['limit'],
    });
    this.deliveries = metrics.counter({ name: 'router_priority_deliveries_total', help: 'Deliveries written to subscriber streams' });
    this.redeliveries = metrics.counter({ name: 'router_priority_redeliveries_total', help: 'Durable deliveries sent again' });
    this.deadLetters = metrics.counter({
      name: 'router_priority_dead_letters_total',
      help: 'Messages dead-lettered, by reason',
      labelNames: ['reason'],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const router = this;
    metrics.gauge({
      name: 'router_priority_queued',
      help: 'Events waiting in subscriber lanes, by lane',
      labelNames: ['lane'],
      collect() {
        const depth = [0, 0, 0];
        for (const session of router.sessions.values()) for (let l = 0; l < 3; l++) depth[l] += session.lanes.depth(l);
        for (let l = 0; l < 3; l++) this.set({ lane: LANE_NAMES[l] }, depth[l]);
      },
    });
    metrics.gauge({
      name: 'router_priority_sessions',
      help: 'Open sessions',
      collect() {
        this.set(router.sessions.size);
      },
    });
    metrics.gauge({
      name: 'router_priority_pending_requests',
      help: 'Requests waiting for a reply',
      collect() {
        this.set(router.pendingRequests.size);
      },
    });
    metrics.gauge({
      name: 'router_priority_durable_pending',
      help: 'Durable messages not yet acked',
      collect() {
        this.set(router.durable.pending);
      },
    });
  }

  // RouterService ---------------------------------------------------------------------------

  /** @param {MessageEnvelope} message @param {CallerContext} caller */
  async send(message, caller) {
    return this.route(message, caller, 'message.', undefined);
  }

  /** @param {readonly MessageEnvelope[]} messages @param {CallerContext} caller */
  async sendBatch(messages, caller) {
    // All-or-nothing validation first, so a bad message in the middle routes nothing.
    messages.forEach((message, index) => this.checkTarget(message, `messages[${index}].`));
    return messages.map((message, index) => this.route(message, caller, `messages[${index}].`, undefined));
  }

  /**
   * @param {MessageEnvelope} message
   * @param {CallerContext} caller
   * @param {import('openclaw-gateway').RequestOptions} options
   */
  request(message, caller, options) {
    if (this.pendingRequests.size >= this.options.maxPendingRequests) {
      this.limitHit('router.maxPendingRequests', 'reject', `${this.pendingRequests.size} pending`);
      return Promise.reject(
        new GatewayError('GW_RESOURCE_EXHAUSTED', `at most ${this.options.maxPendingRequests} requests may wait for replies; retry later`),
      );
    }
    const correlationId = `${this.durable.bootId}-r${++this.sequence}`;
    message.correlationId = correlationId;
    message.replyTo = REPLY_TOPIC_PREFIX + correlationId;
    return new Promise((resolve, reject) => {
      /** @type {LaneSession[]} */
      const receivers = [];
      const finish = (/** @type {Error | undefined} */ error, /** @type {MessageEnvelope | undefined} */ reply) => {
        const pending = this.pendingRequests.get(correlationId);
        if (!pending) return;
        this.pendingRequests.delete(correlationId);
        clearTimeout(pending.timer);
        if (pending.onAbort) pending.signal?.removeEventListener('abort', pending.onAbort);
        if (error) {
          const reason = error.message;
          for (const session of receivers) session.enqueue({ kind: 'cancel', correlationId, reason }, 0);
          reject(error);
        } else resolve(/** @type {MessageEnvelope} */ (reply));
      };
      const timer = setTimeout(
        () => finish(new GatewayError('GW_DEADLINE_EXCEEDED', `no reply within the deadline (correlation ${correlationId})`)),
        Math.max(0, options.deadline - Date.now()),
      );
      const onAbort = options.signal
        ? () => finish(new GatewayError('GW_CANCELLED', 'the request was cancelled by the caller'))
        : undefined;
      this.pendingRequests.set(correlationId, {
        resolve: (reply) => finish(undefined, reply),
        reject: (error) => finish(error),
        timer,
        receivers,
        onAbort,
        signal: options.signal,
      });
      if (options.signal && onAbort) {
        if (options.signal.aborted) return onAbort();
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
      try {
        const outcome = this.route(message, caller, 'message.', receivers);
        if (outcome.receivers === 0) finish(new GatewayError('GW_NOT_FOUND', 'no receiver took the request'));
      } catch (error) {
        finish(/** @type {Error} */ (error));
      }
    });
  }

  /**
   * @param {import('openclaw-gateway').EventSink} sink
   * @param {import('openclaw-gateway').SessionOptions} options
   */
  openSession(sink, options) {
    if (this.sessions.size >= this.options.maxSessions) {
      this.limitHit('router.maxSessions', 'reject', `${this.sessions.size} sessions`);
      throw new GatewayError('GW_RESOURCE_EXHAUSTED', `the router serves at most ${this.options.maxSessions} sessions; retry later`);
    }
    const session = new LaneSession(this, sink, options, `prio-${this.durable.bootId}-s${++this.sequence}`);
    this.sessions.set(session.id, session);
    if (options.agentId) {
      this.inboxes.set(options.agentId, session);
      this.rememberAgent(options.agentId);
      this.durable.sessionOpened(session);
    }
    return session;
  }

  /** @param {readonly import('openclaw-gateway').AckItem[]} acks @param {import('openclaw-gateway').CallerContext} caller */
  ack(acks, caller) {
    return this.durable.ack(acks, caller);
  }

  /** @param {string} agentId @param {import('openclaw-gateway').OutboundEvent} event */
  notify(agentId, event) {
    const session = this.inboxes.get(agentId);
    if (!session) return false;
    // Control events (health probes) ride the high lane: a busy agent must still answer probes.
    session.enqueue(event, 0);
    return true;
  }

  // Subscriptions ---------------------------------------------------------------------------

  /** @param {LaneSession} session @param {import('openclaw-gateway').SubscriptionSpec} spec */
  addSubscription(session, spec) {
    const tokens = parsePattern(spec.pattern, 'pattern');
    if (spec.pattern.startsWith(REPLY_TOPIC_PREFIX))
      throw invalidArgument('pattern', `"${REPLY_TOPIC_PREFIX}" topics are reserved for replies`);
    const key = `${session.id}\u0000${spec.pattern}\u0000${spec.queueGroup ?? ''}`;
    if (this.subscriptions.has(key)) return;
    if (session.subscriptionKeys.size >= this.options.maxSubscriptionsPerSession) {
      this.limitHit('router.maxSubscriptionsPerSession', 'reject', session.id);
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `pattern: a session may hold at most ${this.options.maxSubscriptionsPerSession} subscriptions`,
        { field: 'pattern' },
      );
    }
    /** @type {{ session: LaneSession, tokens: string[], pattern: string, groupKey?: string }} */
    const subscription = { session, tokens, pattern: spec.pattern };
    if (spec.queueGroup) {
      const groupKey = `${spec.pattern}\u0000${spec.queueGroup}`;
      subscription.groupKey = groupKey;
      let group = this.groups.get(groupKey);
      if (!group) this.groups.set(groupKey, (group = { members: [], next: 0 }));
      group.members.push(session);
    }
    this.subscriptions.set(key, subscription);
    session.subscriptionKeys.add(key);
    this.matchCache.clear();
  }

  /** @param {LaneSession} session @param {string} pattern @param {string} [queueGroup] */
  removeSubscription(session, pattern, queueGroup) {
    const key = `${session.id}\u0000${pattern}\u0000${queueGroup ?? ''}`;
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    this.subscriptions.delete(key);
    session.subscriptionKeys.delete(key);
    if (subscription.groupKey) {
      const group = this.groups.get(subscription.groupKey);
      if (group) {
        group.members = group.members.filter((member) => member !== session);
        if (group.members.length === 0) this.groups.delete(subscription.groupKey);
      }
    }
    this.matchCache.clear();
  }

  /** @param {LaneSession} session @param {string} _reason */
  sessionClosed(session, _reason) {
    for (const key of [...session.subscriptionKeys]) {
      const subscription = this.subscriptions.get(key);
      if (subscription) this.removeSubscription(session, subscription.pattern, subscription.groupKey?.split('\u0000')[1]);
    }
    this.sessions.delete(session.id);
    if (session.agentId && this.inboxes.get(session.agentId) === session) this.inboxes.delete(session.agentId);
    this.durable.sessionClosed(session);
  }

  // Routing ---------------------------------------------------------------------------------

  /** @param {MessageEnvelope} message @param {string} prefix */
  checkTarget(message, prefix) {
    const targets = (message.topic ? 1 : 0) + (message.agentId ? 1 : 0) + (message.service ? 1 : 0);
    if (targets !== 1) throw invalidArgument(`${prefix}topic`, 'exactly one of topic, agentId and service must be set');
    if (message.topic && !/^[^.*>\s]+(?:\.[^.*>\s]+)*$/.test(message.topic)) {
      throw invalidArgument(`${prefix}topic`, `"${message.topic}" must be dot-separated tokens without wildcards or spaces`);
    }
  }

  /** The message's lane: its priority header when allowed and valid, else the first matching lane rule. @param {MessageEnvelope} message */
  laneOf(message) {
    const header = this.options.priorityHeader;
    if (header !== '') {
      const requested = message.headers[header];
      if (requested !== undefined) {
        const lane = LANE_INDEX[/** @type {'high'} */ (requested)];
        if (lane === undefined) throw invalidArgument(`message.headers.${header}`, `"${requested}" must be high, normal or low`);
        return lane;
      }
    }
    if (!message.topic || this.lanes.length === 0) return this.defaultLane;
    const cached = this.laneCache.get(message.topic);
    if (cached !== undefined) return cached;
    const tokens = message.topic.split('.');
    let lane = this.defaultLane;
    for (const rule of this.lanes) {
      if (matchesTokens(rule.tokens, tokens)) {
        lane = rule.lane;
        break;
      }
    }
    this.laneCache.set(message.topic, lane);
    return lane;
  }

  /**
   * @param {MessageEnvelope} message
   * @param {CallerContext} caller
   * @param {string} prefix field prefix for errors
   * @param {LaneSession[] | undefined} receivers collects who got a request (for cancel events)
   * @returns {import('openclaw-gateway').SendOutcome}
   */
  route(message, caller, prefix, receivers) {
    this.checkTarget(message, prefix);
    if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) return this.reply(message);
    const lane = this.laneOf(message);
    if (message.id) {
      if (this.isDuplicate(message.id)) {
        this.messages.inc({ lane: LANE_NAMES[lane], result: 'duplicate' });
        return { messageId: message.id, duplicate: true, receivers: 0, stored: false };
      }
    } else message.id = `${this.durable.bootId}-m${++this.sequence}`;
    if (!message.createdAt) message.createdAt = Date.now();

    if (caller.agentId) {
      message.hops++;
      const maxHops = message.maxHops || this.options.maxHops;
      if (message.hops > maxHops) {
        this.deadLetter(message, 'max-hops', 0);
        return { messageId: message.id, duplicate: false, receivers: 0, stored: false };
      }
    }
    if (this.hooks.messageAccepted.isUsed()) this.hooks.messageAccepted.call(message);
    this.messages.inc({ lane: LANE_NAMES[lane], result: 'accepted' });

    let count;
    if (message.topic) count = this.routeTopic(message, lane, receivers);
    else if (message.agentId) count = this.routeAgent(message, lane, receivers, prefix);
    else count = this.routeService(message, lane, receivers, prefix);
    return { messageId: message.id, duplicate: false, receivers: count, stored: false };
  }

  /** @param {MessageEnvelope} message @param {number} lane @param {LaneSession[] | undefined} receivers */
  routeTopic(message, lane, receivers) {
    let targets = this.matchCache.get(message.topic);
    if (!targets) {
      targets = [];
      const tokens = message.topic.split('.');
      const groupsSeen = new Set();
      for (const subscription of this.subscriptions.values()) {
        if (!matchesTokens(subscription.tokens, tokens)) continue;
        if (subscription.groupKey) {
          if (groupsSeen.has(subscription.groupKey)) continue;
          groupsSeen.add(subscription.groupKey);
          targets.push({ groupKey: subscription.groupKey, pattern: subscription.pattern });
        } else targets.push({ session: subscription.session, pattern: subscription.pattern });
      }
      this.matchCache.set(message.topic, targets);
    }
    let count = 0;
    for (const target of targets) {
      const session = target.session ?? this.pickGroupMember(/** @type {string} */ (target.groupKey));
      if (!session) continue;
      const durableTarget = target.groupKey ? { kind: 'group', groupKey: target.groupKey } : { kind: 'session', session };
      if (this.deliver(session, message, lane, target.pattern, /** @type {any} */ (durableTarget))) {
        count++;
        receivers?.push(session);
      }
    }
    if (count === 0) this.dropped(message, lane, 'no-subscriber');
    return count;
  }

  /** @param {MessageEnvelope} message @param {number} lane @param {LaneSession[] | undefined} receivers @param {string} prefix */
  routeAgent(message, lane, receivers, prefix) {
    const session = this.inboxes.get(message.agentId);
    if (!session && !this.registry.get(message.agentId) && !this.knownAgents.has(message.agentId)) {
      throw new GatewayError('GW_NOT_FOUND', `${prefix}agentId: agent "${message.agentId}" is not registered`, {
        field: `${prefix}agentId`,
      });
    }
    const target = { kind: 'agent', agentId: message.agentId };
    if (message.durable) return this.durable.accept(message, /** @type {any} */ (target), lane, 'inbox', session);
    if (!session) {
      this.dropped(message, lane, 'receiver-offline');
      return 0;
    }
    if (!this.deliver(session, message, lane, 'inbox', /** @type {any} */ (target))) return 0;
    receivers?.push(session);
    return 1;
  }

  /** @param {MessageEnvelope} message @param {number} lane @param {LaneSession[] | undefined} receivers @param {string} prefix */
  routeService(message, lane, receivers, prefix) {
    const target = { kind: 'service', service: message.service, versionRange: message.versionRange, key: message.key };
    const session = this.resolveTarget(/** @type {any} */ (target));
    if (!session) {
      const known = this.registry.discover({
        service: message.service,
        versionRange: message.versionRange || undefined,
        routableOnly: true,
        limit: 1,
      });
      if (known.length === 0) {
        throw new GatewayError(
          'GW_NOT_FOUND',
          `${prefix}service: no routable instance of "${message.service}"${message.versionRange ? ` matching ${message.versionRange}` : ''}`,
          { field: `${prefix}service` },
        );
      }
      if (message.durable) {
        return this.durable.accept(message, { kind: 'agent', agentId: known[0].agentId }, lane, 'inbox', undefined);
      }
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `${prefix}service: instances of "${message.service}" exist but none has an open session here`,
        { field: `${prefix}service` },
      );
    }
    if (message.durable) return this.durable.accept(message, /** @type {any} */ (target), lane, 'inbox', session);
    if (!this.deliver(session, message, lane, 'inbox', /** @type {any} */ (target))) return 0;
    receivers?.push(session);
    return 1;
  }

  /**
   * Where a durable target's next attempt goes, or undefined when nobody can take it now.
   * @param {import('./durable-deliveries').DurableTarget} target
   * @returns {LaneSession | undefined}
   */
  resolveTarget(target) {
    switch (target.kind) {
      case 'agent':
        return this.inboxes.get(target.agentId);
      case 'session':
        return target.session.open ? target.session : undefined;
      case 'group':
        return this.pickGroupMember(target.groupKey);
      case 'service': {
        const candidates = this.registry
          .discover({ service: target.service, versionRange: target.versionRange || undefined, routableOnly: true })
          .filter((agent) => this.inboxes.has(agent.agentId));
        if (candidates.length === 0) return undefined;
        const chosen = target.key ? rendezvous(candidates, target.key) : candidates[this.roundRobin++ % candidates.length];
        return this.inboxes.get(chosen.agentId);
      }
    }
    return undefined;
  }

  /** @param {string} groupKey */
  pickGroupMember(groupKey) {
    const group = this.groups.get(groupKey);
    if (!group || group.members.length === 0) return undefined;
    const member = group.members[group.next % group.members.length];
    group.next = (group.next + 1) % group.members.length;
    return member;
  }

  /**
   * @param {LaneSession} session
   * @param {MessageEnvelope} message
   * @param {number} lane
   * @param {string} subscription
   * @param {import('./durable-deliveries').DurableTarget} target
   */
  deliver(session, message, lane, subscription, target) {
    if (message.durable) return this.durable.accept(message, target, lane, subscription, session) > 0;
    const delivery = { message, deliveryTag: '', attempt: 1, subscription, ackDeadline: 0 };
    return session.enqueue({ kind: 'delivery', delivery }, lane);
  }

  /** @param {MessageEnvelope} message */
  reply(message) {
    const correlationId = message.topic.slice(REPLY_TOPIC_PREFIX.length);
    const pending = this.pendingRequests.get(correlationId);
    if (!pending || (message.correlationId && message.correlationId !== correlationId)) {
      this.dropped(message, this.defaultLane, 'no-pending-request');
      return { messageId: message.id, duplicate: false, receivers: 0, stored: false };
    }
    this.messages.inc({ lane: LANE_NAMES[this.defaultLane], result: 'reply' });
    pending.resolve(message);
    return { messageId: message.id, duplicate: false, receivers: 1, stored: false };
  }

  // Bookkeeping -----------------------------------------------------------------------------

  /** @param {string} agentId */
  rememberAgent(agentId) {
    const limit = this.options.durable.maxOfflineAgents;
    this.knownAgents.delete(agentId);
    if (limit === 0) return;
    if (this.knownAgents.size >= limit) {
      this.knownAgents.delete(this.knownAgents.keys().next().value);
      this.limitHit('router.durable.maxOfflineAgents', 'forget-oldest');
    }
    this.knownAgents.set(agentId, Date.now());
  }

  /** @param {string} id */
  isDuplicate(id) {
    const { windowMs, maxEntries } = this.options.dedupe;
    if (maxEntries === 0 || windowMs === 0) return false;
    const now = Date.now();
    const seen = this.seenIds.get(id);
    if (seen !== undefined && now - seen < windowMs) return true;
    if (this.seenIds.size >= maxEntries) {
      this.seenIds.delete(this.seenIds.keys().next().value);
      this.limitHit('router.dedupe.maxEntries', 'forget-oldest');
    }
    this.seenIds.delete(id);
    this.seenIds.set(id, now);
    return false;
  }

  /** Events were handed to a sink. @param {readonly import('openclaw-gateway').OutboundEvent[]} events */
  written(events) {
    const hook = this.hooks.messageDelivered;
    const used = hook.isUsed();
    let deliveries = 0;
    for (const event of events) {
      if (event.kind !== 'delivery') continue;
      deliveries++;
      if (used) hook.call(event.delivery.message, event.delivery);
    }
    if (deliveries > 0) this.deliveries.inc(deliveries);
  }

  /** A session's lanes overflowed; `event` was evicted or refused. @param {LaneSession} session @param {import('openclaw-gateway').OutboundEvent} event */
  queueOverflow(session, event) {
    if (event.kind === 'delivery') this.dropped(event.delivery.message, this.laneOf(event.delivery.message), 'priority-queue-full');
    if (!session.overflowing) {
      session.overflowing = true;
      this.limitHit('router.maxQueuedPerSession', 'evict-lowest', `session ${session.id}`);
    }
  }

  /** @param {MessageEnvelope} message @param {number} lane @param {string} reason */
  dropped(message, lane, reason) {
    this.messages.inc({ lane: LANE_NAMES[lane], result: 'dropped' });
    if (this.hooks.messageDropped.isUsed()) this.hooks.messageDropped.call(message, reason);
  }

  /** @param {MessageEnvelope} message @param {string} reason @param {number} attempts */
  deadLetter(message, reason, attempts) {
    this.deadLetters.inc({ reason: reason.startsWith('nack') ? 'nack' : reason });
    this.hooks.messageDeadLettered.call({ message, reason, attempts, at: Date.now() });
    if (message.topic === this.options.deadLetterTopic) return;
    const copy = {
      ...message,
      id: '',
      topic: this.options.deadLetterTopic,
      agentId: '',
      service: '',
      durable: false,
      headers: {
        ...message.headers,
        'x-dead-letter-reason': reason,
        'x-dead-letter-attempts': String(attempts),
        'x-original-id': message.id,
      },
    };
    this.route(copy, { peer: 'router-priority' }, 'message.', undefined);
  }

  /** @param {string} limit @param {string} policy @param {string} [detail] */
  limitHit(limit, policy, detail) {
    this.limitHits.inc({ limit });
    this.hooks.limitReached.call({ limit, policy, plugin: this.ctx.name, detail });
  }

  stop() {
    for (const [, pending] of this.pendingRequests) pending.reject(new GatewayError('GW_UNAVAILABLE', 'the gateway is stopping'));
    this.durable.stop();
  }
}

/**
 * Rendezvous hashing: the instance with the highest hash of (key, id) wins, so removing an
 * instance moves only its own keys.
 * @template {{ agentId: string }} T
 * @param {T[]} candidates
 * @param {string} key
 */
function rendezvous(candidates, key) {
  let best = candidates[0];
  let bestScore = -1;
  for (const candidate of candidates) {
    let hash = 2166136261;
    const text = `${key}\u0000${candidate.agentId}`;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
    if (hash > bestScore) {
      bestScore = hash;
      best = candidate;
    }
  }
  return best;
}

module.exports = { PriorityRouter };
