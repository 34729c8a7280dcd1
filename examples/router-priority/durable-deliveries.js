'use strict';
/**
 * At-least-once delivery, kept in memory: each durable delivery has a tag
 * `<bootId>.<seq>.<secret>.<attempt>` (the secret is random, so tags cannot be guessed; only the
 * identity it was delivered to may settle it: `mayAcknowledge`), an ack timer, and a target that is resolved again on every attempt
 * (another instance of a service, another member of a queue group). Unacked after `ackTimeoutMs`,
 * nacked, or its session gone → delivered again; after `maxAttempts` → dead letter. Durable
 * messages for an agent without an open session wait in its bounded offline inbox.
 *
 * Nothing is written to disk: this survives reconnects, not a gateway restart (`stored: false`).
 * Use `router-embedded` when messages must survive restarts.
 */
const { randomBytes } = require('node:crypto');
const { GatewayError, mayAcknowledge, TagSecrets } = require('openclaw-gateway');

/**
 * @typedef {{ kind: 'agent', agentId: string }
 *   | { kind: 'service', service: string, versionRange: string, key: string }
 *   | { kind: 'group', groupKey: string }
 *   | { kind: 'session', session: import('./lane-session').LaneSession }} DurableTarget
 * @typedef {{ key: string, message: import('openclaw-gateway').MessageEnvelope, attempt: number,
 *   target: DurableTarget, lane: number, subscription: string,
 *   session?: import('./lane-session').LaneSession, timer?: NodeJS.Timeout, extensions: number }} InFlight
 */

class DurableDeliveries {
  /**
   * @param {import('./priority-router').PriorityRouter} router
   * @param {{ ackTimeoutMs: number, maxAttempts: number, maxUnacked: number, maxOfflinePerAgent: number, maxOfflineAgents: number }} options
   */
  constructor(router, options) {
    this.router = router;
    this.options = options;
    this.bootId = randomBytes(4).toString('hex');
    this.seq = 0;
    this.secrets = new TagSecrets();
    /** @type {Map<string, InFlight>} */
    this.inFlight = new Map();
    /** @type {Map<string, InFlight[]>} agent id → deliveries waiting for its session */
    this.offline = new Map();
    this.offlineCount = 0;
  }

  get pending() {
    return this.inFlight.size + this.offlineCount;
  }

  /**
   * A new durable message for one receiver. Throws GW_RESOURCE_EXHAUSTED when `maxUnacked` is reached.
   * @param {import('openclaw-gateway').MessageEnvelope} message
   * @param {DurableTarget} target
   * @param {number} lane
   * @param {string} subscription
   * @param {import('./lane-session').LaneSession | undefined} session where to deliver now, if anywhere
   */
  accept(message, target, lane, subscription, session) {
    if (this.pending >= this.options.maxUnacked) {
      this.router.limitHit('router.durable.maxUnacked', 'reject', `${this.pending} durable messages pending`);
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `message.durable: ${this.options.maxUnacked} durable messages are already pending; retry later`,
        { field: 'message.durable' },
      );
    }
    /** @type {InFlight} */
    const entry = {
      key: `${this.bootId}.${++this.seq}.${this.secrets.next()}`,
      message,
      attempt: 1,
      target,
      lane,
      subscription,
      extensions: 0,
    };
    if (session) {
      this.write(entry, session);
      return 1;
    }
    if (target.kind !== 'agent') return 0;
    this.park(entry, target.agentId, true);
    return 0;
  }

  /**
   * @param {InFlight} entry
   * @param {import('./lane-session').LaneSession} session
   */
  write(entry, session) {
    this.inFlight.set(entry.key, entry);
    entry.session = session;
    session.unacked.add(entry.key);
    const ackDeadline = Date.now() + this.options.ackTimeoutMs;
    entry.timer = setTimeout(() => this.retry(entry, 'ack-timeout'), this.options.ackTimeoutMs);
    entry.timer.unref();
    const delivery = {
      message: entry.message,
      deliveryTag: `${entry.key}.${entry.attempt}`,
      attempt: entry.attempt,
      subscription: entry.subscription,
      ackDeadline,
    };
    // An evicted durable delivery is not lost: its ack timer brings it back.
    session.enqueue({ kind: 'delivery', delivery }, entry.lane);
  }

  /**
   * Keeps a delivery for an agent without a session. When the inbox is full a new message is
   * refused (the publisher learns at once); one coming back from a closed session is dead-lettered.
   * @param {InFlight} entry
   * @param {string} agentId
   * @param {boolean} isNew
   */
  park(entry, agentId, isNew) {
    let inbox = this.offline.get(agentId);
    const full = (inbox?.length ?? 0) >= this.options.maxOfflinePerAgent || (!inbox && this.offline.size >= this.options.maxOfflineAgents);
    if (full) {
      this.router.limitHit('router.durable.maxOfflinePerAgent', isNew ? 'reject' : 'dead-letter', `agent ${agentId}`);
      if (isNew)
        throw new GatewayError('GW_RESOURCE_EXHAUSTED', `agentId: the offline inbox of "${agentId}" is full`, { field: 'agentId' });
      this.router.deadLetter(entry.message, 'inbox-full', entry.attempt);
      return;
    }
    if (!inbox) this.offline.set(agentId, (inbox = []));
    inbox.push(entry);
    this.offlineCount++;
  }

  /** An agent's inbox session opened: what waited for it is delivered now. @param {import('./lane-session').LaneSession} session */
  sessionOpened(session) {
    if (!session.agentId) return;
    const inbox = this.offline.get(session.agentId);
    if (!inbox) return;
    this.offline.delete(session.agentId);
    this.offlineCount -= inbox.length;
    for (const entry of inbox) this.write(entry, session);
  }

  /** The session went away: its unacked deliveries go out again at once. @param {import('./lane-session').LaneSession} session */
  sessionClosed(session) {
    for (const key of session.unacked) {
      const entry = this.inFlight.get(key);
      if (entry) this.retry(entry, 'receiver-closed');
    }
    session.unacked.clear();
  }

  /**
   * @param {InFlight} entry
   * @param {string} reason
   */
  retry(entry, reason) {
    clearTimeout(entry.timer);
    this.inFlight.delete(entry.key);
    entry.session?.unacked.delete(entry.key);
    entry.session = undefined;
    if (entry.attempt >= this.options.maxAttempts) {
      this.router.deadLetter(entry.message, reason, entry.attempt);
      return;
    }
    entry.attempt++;
    entry.extensions = 0;
    this.router.redeliveries.inc();
    const session = this.router.resolveTarget(entry.target);
    if (session) this.write(entry, session);
    else if (entry.target.kind === 'agent') this.park(entry, entry.target.agentId, false);
    else this.router.deadLetter(entry.message, 'subscriber-gone', entry.attempt);
  }

  /**
   * @param {readonly import('openclaw-gateway').AckItem[]} acks
   * @param {import('openclaw-gateway').CallerContext} caller
   * @returns {import('openclaw-gateway').AckOutcome[]}
   */
  ack(acks, caller) {
    return acks.map(({ deliveryTag, kind, reason }) => {
      const dot = deliveryTag.lastIndexOf('.');
      const entry = dot > 0 ? this.inFlight.get(deliveryTag.slice(0, dot)) : undefined;
      if (!entry) return { deliveryTag, result: 'unknown' };
      if (Number(deliveryTag.slice(dot + 1)) !== entry.attempt) return { deliveryTag, result: 'stale' };
      // Another identity's delivery: answered like a tag that never existed.
      if (entry.session && !mayAcknowledge(entry.session.caller, caller)) return { deliveryTag, result: 'unknown' };
      if (kind === 'ack') {
        clearTimeout(entry.timer);
        this.inFlight.delete(entry.key);
        entry.session?.unacked.delete(entry.key);
        return { deliveryTag, result: 'acked' };
      }
      if (kind === 'in-progress') {
        // Bounded so a stuck receiver cannot hold a message forever.
        if (++entry.extensions > 1000) return { deliveryTag, result: 'stale' };
        entry.timer?.refresh();
        return { deliveryTag, result: 'extended' };
      }
      this.retry(entry, `nack: ${reason ?? ''}`.trim());
      return { deliveryTag, result: 'requeued' };
    });
  }

  stop() {
    for (const entry of this.inFlight.values()) clearTimeout(entry.timer);
    this.inFlight.clear();
    this.offline.clear();
    this.offlineCount = 0;
  }
}

module.exports = { DurableDeliveries };
