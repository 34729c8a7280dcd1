import type { AckItem, AckOutcome, CallerContext, MessageEnvelope, OutboundEvent, SendOutcome } from './message';

/**
 * Where a router writes a session's events. Implemented by transports (a Subscribe stream).
 * `write` returns false when the stream's buffer is full; the router then keeps events in the
 * session's bounded queue and waits for `onWritable`.
 */
export interface EventSink {
  write(events: readonly OutboundEvent[]): boolean;
  onWritable(listener: () => void): void;
  /** Ends the stream, with an error when the router closes it (slow consumer, permission lost). */
  close(error?: import('../errors').GatewayError): void;
}

export interface SubscriptionSpec {
  /** Topic pattern with `*` and `>` wildcards. */
  pattern: string;
  /** Members of one queue group share the messages: each goes to one member. */
  queueGroup?: string;
}

export interface SessionOptions {
  /** Agent whose inbox this session receives (point-to-point and service traffic). */
  agentId?: string;
  caller: CallerContext;
  /**
   * The subscriber's own cap on deliveries per `sink.write` when it falls behind (a client that
   * wants smaller frames); at most the router's `subscriberQueue.maxBatch`, which 0 or absent means.
   */
  maxBatch?: number;
}

/** A subscriber's live session: one per Subscribe stream. */
export interface RouterSession {
  readonly id: string;
  subscribe(spec: SubscriptionSpec): void;
  unsubscribe(pattern: string, queueGroup?: string): void;
  /** The transport stream ended; unacked durable deliveries are redelivered at once. */
  close(reason: string): void;
}

export interface RequestOptions {
  /** Absolute epoch-ms deadline; the request fails with GW_DEADLINE_EXCEEDED after it. */
  deadline: number;
  /** Client cancellation: the receiver gets a cancel event. */
  signal?: AbortSignal;
}

export interface RouterService {
  send(message: MessageEnvelope, caller: CallerContext): Promise<SendOutcome>;
  sendBatch(messages: readonly MessageEnvelope[], caller: CallerContext): Promise<SendOutcome[]>;
  request(message: MessageEnvelope, caller: CallerContext, options: RequestOptions): Promise<MessageEnvelope>;
  openSession(sink: EventSink, options: SessionOptions): RouterSession;
  /**
   * Settles durable deliveries. A router must make tags unguessable (end them with
   * `TagSecrets.next()`) and settle a tag only for the caller the delivery was made to
   * (`mayAcknowledge(session caller, caller)`); for anybody else the outcome is `unknown`.
   */
  ack(acks: readonly AckItem[], caller: CallerContext): AckOutcome[];
  /**
   * Pushes a control event (e.g. a health probe notice) to the session of an agent's inbox.
   * Returns false when the agent has no open session here.
   */
  notify(agentId: string, event: OutboundEvent): boolean;
}

/**
 * Request/reply convention (shared by routers, transports and SDKs): the router gives a request a
 * `correlationId` and a `replyTo` of the form `_INBOX.<id>`; the receiver replies by sending a
 * message with `topic = replyTo` and the same `correlationId`. Topics starting with `_INBOX.` are
 * reserved for replies.
 */
export const REPLY_TOPIC_PREFIX = '_INBOX.';
