/**
 * # OpenClaw Gateway agent SDK (TypeScript)
 *
 * ```ts
 * import { connect } from 'openclaw-gateway/sdk';
 * const agent = connect(['127.0.0.1:7400', 'unix:/run/openclaw/gateway.sock'], { token: process.env.OPENCLAW_TOKEN });
 * await agent.register({ service: 'summarizer', version: '1.2.0' });
 * for await (const delivery of await agent.subscribe()) {
 *   if (delivery.isRequest) await delivery.reply(summarize(delivery.text()));
 *   else await delivery.ack();
 * }
 * ```
 *
 * The handle renews its lease, answers health probes, fails over across the listed gateways with
 * capped exponential backoff plus jitter, and after a gateway restart registers again and reopens
 * its subscriptions. Errors are `GatewayClientError`s carrying the gateway's stable `GW_*` code.
 */
import { Agent, type AgentOptions } from './agent';

export { Agent } from './agent';
export type { AgentOptions, RegisterInfo, MessageOptions, Target, TopicSpec, SubscribeOptions, DiscoverQuery } from './agent';
export { AgentDelivery, type Payload } from './delivery';
export { GatewayClientError } from './errors';
export { Subscription } from './subscription';
export type { TlsOptions, ConnectionOptions } from './connection';
export { Backoff, type BackoffOptions } from './backoff';
export { A2aTask, A2A_CONTENT_TYPE } from './a2a';

/** A handle for one agent on the gateway at `target` (or the first reachable of `targets`). */
export function connect(target: string | readonly string[], options: AgentOptions = {}): Agent {
  return new Agent(target, options);
}
