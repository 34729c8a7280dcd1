/** Two or more in-process gateways on one NATS prefix, with registry-nats and router-nats. */
import type { RegistryService, RouterService } from '../../kernel';
import type { AgentDelivery, Subscription } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import type { NatsEnv } from './nats-env';

export interface ClusterMember {
  gw: TestGateway;
  registry: RegistryService;
  router: RouterService;
  id: string;
}

export async function startMember(
  env: NatsEnv,
  router: Record<string, unknown> = {},
  registry: Record<string, unknown> = {},
): Promise<ClusterMember> {
  const common = { servers: [env.url], prefix: env.prefix };
  const gw = await startTestGateway({
    plugins: {
      registry: { use: 'registry-nats', options: { ...common, ...registry } },
      router: { use: 'router-nats', options: { ...common, ...router } },
    },
  });
  return { gw, registry: gw.gateway.service('registry')!, router: gw.gateway.service('router')!, id: gw.gateway.info.id };
}

export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The subscription's next delivery, or a clear failure after `timeoutMs` (a lost message must not hang the test). */
export async function nextDelivery(subscription: Subscription<AgentDelivery>, timeoutMs = 10_000): Promise<AgentDelivery> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no delivery in time')), timeoutMs)));
  try {
    const result = await Promise.race([subscription.next(), timeout]);
    if (result.done) throw new Error('subscription ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}
