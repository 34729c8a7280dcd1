/**
 * Optional access log: one debug line per completed RPC. The observation object is logged as the
 * transport reported it, so request and agent ids appear as soon as a transport includes them,
 * without this plugin knowing any transport. The level check comes first so a disabled access log
 * costs one branch per call.
 */
import type { Logger } from 'pino';
import type { GatewayHooks } from '../../kernel';

export function tapRpcAccessLog(name: string, hooks: GatewayHooks, logger: Logger): void {
  const accessLogger = logger.child({ log: 'access' });
  hooks.rpcCompleted.tap(name, (observation) => {
    if (!accessLogger.isLevelEnabled('debug')) return;
    accessLogger.debug({ rpc: observation, durationMs: Math.round(observation.durationSeconds * 1e6) / 1e3 }, `${observation.method} ${observation.code}`);
  });
}
