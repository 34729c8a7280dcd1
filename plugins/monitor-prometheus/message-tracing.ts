/**
 * Carries W3C trace context across hops. On `messageAccepted` a message without a valid
 * `traceparent` starts a trace; one with it gets a new span id for this hop whose parent is the
 * sender's span. The message object is the router's; rewriting one header in place is the cheap,
 * agreed way to propagate (no copy of the envelope).
 */
import type { GatewayHooks, MessageEnvelope } from '../../kernel';
import type { HopSpans } from './hop-spans';
import { TRACEPARENT, TraceIdSource, formatTraceparent, parseTraceparent } from './trace-context';

export function tapMessageTracing(name: string, hooks: GatewayHooks, spans: HopSpans | undefined): void {
  const ids = new TraceIdSource();

  hooks.messageAccepted.tap(name, (message: MessageEnvelope) => {
    // Routers hand over decoded protobuf messages, whose map fields are always objects; be safe anyway.
    if (message.headers === undefined || message.headers === null) message.headers = {};
    const parent = parseTraceparent(message.headers[TRACEPARENT]);
    if (spans) {
      const hop = spans.start(message, parent);
      message.headers[TRACEPARENT] = formatTraceparent(hop.traceId, hop.spanId, hop.flags);
      return;
    }
    message.headers[TRACEPARENT] = parent
      ? formatTraceparent(parent.traceId, ids.spanId(), parent.flags)
      : formatTraceparent(ids.traceId(), ids.spanId(), '01');
  });

  if (!spans) return;
  hooks.messageDelivered.tap(name, (message) => spans.end(message.id, 'delivered'));
  hooks.messageDropped.tap(name, (message, reason) => spans.end(message.id, `dropped: ${reason}`, true));
  hooks.messageDeadLettered.tap(name, (deadLetter) => spans.end(deadLetter.message.id, `dead-lettered: ${deadLetter.reason}`, true));
}
