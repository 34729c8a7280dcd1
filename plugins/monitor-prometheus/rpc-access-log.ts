/**
 * Optional access log: one debug line per completed RPC, with the request id (the client's
 * `x-request-id`, else one numbered by this log so lines can still be told apart), the agent id
 * the call acts for and the peer, as top-level fields so `jq 'select(.agentId == "w-1")'` works.
 * The level check comes first so a disabled access log costs one branch per call.
 */
import type { Logger } from 'pino';
import type { GatewayHooks } from '../../kernel';

export function tapRpcAccessLog(name: string, hooks: GatewayHooks, logger: Logger): void {
  const accessLogger = logger.child({ log: 'access' });
  let sequence = 0;
  hooks.rpcCompleted.tap(name, (observation) => {
    if (!accessLogger.isLevelEnabled('debug')) return;
    sequence += 1;
    accessLogger.debug(
      {
        requestId: observation.requestId ?? `rpc-${sequence}`,
        ...(observation.agentId ? { agentId: observation.agentId } : {}),
        ...(observation.peer ? { peer: observation.peer } : {}),
        method: observation.method,
        code: observation.code,
        transport: observation.transport,
        durationMs: Math.round(observation.durationSeconds * 1e6) / 1e3,
      },
      `${observation.method} ${observation.code}`,
    );
  });
}
