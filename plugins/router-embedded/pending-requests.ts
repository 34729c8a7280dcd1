/**
 * Requests waiting for a reply, keyed by correlation id. Bounded: past `maxPending` new requests
 * are refused with GW_RESOURCE_EXHAUSTED. A request that expires or is cancelled tells its
 * receivers (a `cancel` event) so they can stop working on it.
 */
import { gatewayError, type GatewayError, type MessageEnvelope } from '../../kernel';

export interface PendingRequest {
  readonly correlationId: string;
  readonly replyTo: string;
  resolve(reply: MessageEnvelope): void;
  reject(error: GatewayError): void;
  /** Tells the receivers to stop. */
  cancelReceivers(reason: string): void;
  timer?: NodeJS.Timeout;
  detach?: () => void;
}

export class PendingRequests {
  private readonly pending = new Map<string, PendingRequest>();

  constructor(readonly maxPending: number) {}

  get size(): number {
    return this.pending.size;
  }

  get full(): boolean {
    return this.pending.size >= this.maxPending;
  }

  add(request: PendingRequest, deadline: number, signal: AbortSignal | undefined): void {
    this.pending.set(request.correlationId, request);
    request.timer = setTimeout(
      () => {
        this.fail(request.correlationId, gatewayError('GW_DEADLINE_EXCEEDED', 'no reply before the request deadline'), 'deadline');
      },
      Math.max(0, deadline - Date.now()),
    );
    if (signal) {
      const onAbort = () =>
        this.fail(request.correlationId, gatewayError('GW_CANCELLED', 'the request was cancelled by the client'), 'cancelled');
      signal.addEventListener('abort', onAbort, { once: true });
      request.detach = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** A reply arrived: true when it matched a waiting request (late replies match nothing). */
  reply(replyTo: string, correlationId: string, message: MessageEnvelope): boolean {
    const request = this.pending.get(correlationId);
    if (!request || request.replyTo !== replyTo) return false;
    this.settle(request);
    request.resolve(message);
    return true;
  }

  fail(correlationId: string, error: GatewayError, cancelReason: string): void {
    const request = this.pending.get(correlationId);
    if (!request) return;
    this.settle(request);
    request.cancelReceivers(cancelReason);
    request.reject(error);
  }

  failAll(error: GatewayError): void {
    for (const id of [...this.pending.keys()]) this.fail(id, error, 'gateway-stopping');
  }

  private settle(request: PendingRequest): void {
    this.pending.delete(request.correlationId);
    clearTimeout(request.timer);
    request.detach?.();
  }
}
