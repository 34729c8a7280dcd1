/**
 * Requests waiting for replies, keyed by their reply topic, each with a deadline timer and an
 * optional client abort. Bounded by `maxPending` (the router refuses more).
 */
import { gatewayError, type GatewayError, type MessageEnvelope } from '../../kernel';

export interface PendingRequest {
  replyTo: string;
  resolve(reply: MessageEnvelope): void;
  reject(error: GatewayError): void;
  /** Tells the receivers the request is over (deadline or client cancel). */
  cancelReceivers(reason: string): void;
}

interface Entry extends PendingRequest {
  timer: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class PendingRequests {
  private readonly pending = new Map<string, Entry>();

  constructor(readonly maxPending: number) {}

  get size(): number {
    return this.pending.size;
  }

  get full(): boolean {
    return this.pending.size >= this.maxPending;
  }

  add(request: PendingRequest, deadline: number, signal?: AbortSignal): void {
    const entry = request as Entry;
    entry.timer = setTimeout(
      () => this.finish(entry, gatewayError('GW_DEADLINE_EXCEEDED', 'no reply arrived before the deadline'), 'deadline-exceeded'),
      Math.max(0, deadline - Date.now()),
    );
    entry.timer.unref?.();
    if (signal) {
      entry.signal = signal;
      entry.onAbort = () => this.finish(entry, gatewayError('GW_CANCELLED', 'the request was cancelled by the client'), 'cancelled');
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.pending.set(entry.replyTo, entry);
  }

  /** Resolves the request waiting on `replyTo`; false when none waits (late or unknown). */
  reply(replyTo: string, message: MessageEnvelope): boolean {
    const entry = this.pending.get(replyTo);
    if (!entry) return false;
    this.cleanup(entry);
    entry.resolve(message);
    return true;
  }

  failAll(error: GatewayError): void {
    for (const entry of [...this.pending.values()]) {
      this.cleanup(entry);
      entry.reject(error);
    }
  }

  private finish(entry: Entry, error: GatewayError, reason: string): void {
    if (this.pending.get(entry.replyTo) !== entry) return;
    this.cleanup(entry);
    entry.cancelReceivers(reason);
    entry.reject(error);
  }

  private cleanup(entry: Entry): void {
    clearTimeout(entry.timer);
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort);
    this.pending.delete(entry.replyTo);
  }
}
