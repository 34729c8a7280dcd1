/**
 * A message delivered to the agent, with its acknowledgement and reply helpers. At-most-once
 * deliveries have no delivery tag: ack/nack/inProgress are no-ops for them.
 */
import { AckKind, type Delivery, type Message } from '../proto/gen/openclaw/gateway/v1/gateway';
import { GatewayClientError } from './errors';

export type Payload = Uint8Array | string;

/** What a delivery needs from the agent handle. */
export interface DeliveryHost {
  ack(deliveryTag: string, kind: AckKind, reason: string): Promise<void>;
  reply(request: Message, payload: Payload, options: { headers?: Record<string, string>; contentType?: string }): Promise<void>;
}

export class AgentDelivery {
  readonly message: Message;
  readonly deliveryTag: string;
  readonly attempt: number;
  /** The subscription pattern that matched, or `inbox`. */
  readonly subscription: string;
  readonly ackDeadline: number;
  /** Aborted when the requester cancels the request (or its deadline passes). */
  readonly cancelled: AbortSignal;
  private settled = false;

  constructor(
    delivery: Delivery,
    private readonly host: DeliveryHost,
    cancelled: AbortSignal,
  ) {
    this.message = delivery.message!;
    this.deliveryTag = delivery.deliveryTag;
    this.attempt = delivery.attempt;
    this.subscription = delivery.subscription;
    this.ackDeadline = delivery.ackDeadlineMs;
    this.cancelled = cancelled;
  }

  get payload(): Buffer {
    return this.message.payload;
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return this.message.payload.toString('utf8');
  }

  get topic(): string {
    return this.message.topic;
  }

  /** True for a request (reply with `reply()`). */
  get isRequest(): boolean {
    return this.message.replyTo !== '';
  }

  /** At-least-once deliveries must be acked; at-most-once ones need nothing. */
  get isDurable(): boolean {
    return this.deliveryTag !== '';
  }

  async ack(): Promise<void> {
    if (!this.isDurable || this.settled) return;
    this.settled = true;
    await this.host.ack(this.deliveryTag, AckKind.ACK_KIND_ACK, '');
  }

  async nack(reason = ''): Promise<void> {
    if (!this.isDurable || this.settled) return;
    this.settled = true;
    await this.host.ack(this.deliveryTag, AckKind.ACK_KIND_NACK, reason);
  }

  /** Extends the ack deadline while work continues. */
  async inProgress(): Promise<void> {
    if (!this.isDurable || this.settled) return;
    await this.host.ack(this.deliveryTag, AckKind.ACK_KIND_IN_PROGRESS, '');
  }

  /** Answers a request: `{topic: replyTo, correlationId}`. */
  async reply(payload: Payload, options: { headers?: Record<string, string>; contentType?: string } = {}): Promise<void> {
    if (!this.isRequest) {
      throw new GatewayClientError('GW_FAILED_PRECONDITION', 9, 'this delivery is not a request (it has no reply_to)');
    }
    await this.host.reply(this.message, payload, options);
    await this.ack();
  }
}
