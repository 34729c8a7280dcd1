/**
 * What a demo agent learns from its environment. The supervisor starts each instance with its
 * instance id (`demo-worker-2`) and the gateway's address; run by hand, the same variables (or
 * their defaults) point it at a gateway on this machine.
 */
import os from 'node:os';

export interface DemoEnvironment {
  /** Gateway targets in failover order, e.g. `unix:/path/gateway.sock` then `127.0.0.1:7400`. */
  targets: string[];
  /** Instance id to register as; empty lets the gateway assign one. */
  agentId: string;
}

export function demoEnvironment(fallbackId: string): DemoEnvironment {
  const env = process.env;
  const targets = [env.OPENCLAW_DEMO_TARGET, env.OPENCLAW_TARGET, env.OPENCLAW_GATEWAY_SOCKET && `unix:${env.OPENCLAW_GATEWAY_SOCKET}`]
    .filter((target): target is string => Boolean(target))
    .flatMap((target) => target.split(','));
  if (targets.length === 0) targets.push('127.0.0.1:7400');
  const agentId = env.OPENCLAW_AGENT_ID ?? env.OPENCLAW_INSTANCE_ID ?? `${fallbackId}-${os.hostname()}-${process.pid}`;
  return { targets, agentId };
}

/** One line per event: the supervisor tags each line with the agent id in the gateway's log. */
export function say(agentId: string, text: string): void {
  process.stdout.write(`[${agentId}] ${text}\n`);
}

/** Stops on SIGTERM/SIGINT (the supervisor's graceful stop): close the handle, then exit. */
export function onShutdown(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const forced = setTimeout(() => process.exit(0), 3000);
    forced.unref();
    void close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
