/**
 * Carries W3C trace context across hops. A message without a valid `traceparent` starts a trace;
 * one with it gets a new span id for this hop whose parent is the sender's span. The message object
 * is the router's; rewriting one header in place is the cheap, agreed way to propagate (no copy of
 * the envelope).
 *
 * Both built-in routers fire `messageAccepted` only once routing succeeded, i.e. AFTER the
 * synchronous deliveries of that same call (`messageDelivered` first, then `messageAccepted`).
 * Stamping only on accept left every hop span open until it timed out as `undelivered`, and the
 * header was rewritten after the delivery had been handed to the subscriber's session. So the hop
 * is stamped on whichever hook sees the message first: a first-attempt delivery, a drop or a dead
 * letter of a message with no open span stamps it (and ends its span), and the `messageAccepted`
 * that follows for that same object is skipped. Object identity is enough to pair them because
 * the router fires both for one envelope inside one synchronous call; nothing is kept per message.
 */
import type { GatewayHooks, MessageEnvelope } from '../../kernel';
import type { HopSpans } from './hop-spans';
import { TRACEPARENT, TraceIdSource, formatTraceparent, parseTraceparent } from './trace-context';

export function tapMessageTracing(name: string, hooks: GatewayHooks, spans: HopSpans | undefined): void {
  const ids = new TraceIdSource();
  /** The envelope last stamped before its `messageAccepted` (see above). One slot, not a map. */
  let stampedEarly: MessageEnvelope | undefined;

  const stamp = (message: MessageEnvelope): void => {
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
  };

  /** A delivery, drop or dead letter: ends the open hop span, or stamps a message not yet accepted. */
  const settle = (message: MessageEnvelope, outcome: string, error: boolean, firstAttempt: boolean): void => {
    if (spans?.isOpen(message.id)) {
      spans.end(message.id, outcome, error);
      return;
    }
    // A fan-out delivers one envelope several times before it is accepted: stamp it once.
    if (!firstAttempt || stampedEarly === message) return;
    stamp(message);
    stampedEarly = message;
    spans?.end(message.id, outcome, error);
  };

  hooks.messageAccepted.tap(name, (message: MessageEnvelope) => {
    if (stampedEarly === message) {
      stampedEarly = undefined;
      return;
    }
    stampedEarly = undefined;
    stamp(message);
  });
  hooks.messageDelivered.tap(name, (message, delivery) => settle(message, 'delivered', false, delivery.attempt <= 1));
  hooks.messageDropped.tap(name, (message, reason) => settle(message, `dropped: ${reason}`, true, true));
  hooks.messageDeadLettered.tap(name, (deadLetter) =>
    settle(deadLetter.message, `dead-lettered: ${deadLetter.reason}`, true, deadLetter.attempts <= 1),
  );
}
