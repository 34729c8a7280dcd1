/** `validate`'s view of transport-grpc: the listener checks start repeats before it binds. */
import type { PreflightContext, PreflightResult } from '../../kernel';
import { listenProblems } from './listeners';
import type { TransportGrpcOptions } from './schema';

export async function transportPreflight(ctx: PreflightContext<TransportGrpcOptions>): Promise<PreflightResult> {
  const problems = await listenProblems(ctx.options.listen, ctx.gateway.dataDir, ctx.facts('auth')?.loopbackOnly);
  return { issues: problems.map(({ path, message }) => ({ path, message })) };
}
