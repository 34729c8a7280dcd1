/**
 * What `validate` can tell about auth-standard without starting it: whether it runs in open mode
 * (transports then allow only loopback listeners) and whether the TLS files can be read. Start
 * reads the same files through `loadServerTls`, so both refuse the same configs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PreflightContext, PreflightIssue, PreflightResult } from '../../kernel';
import type { AuthStandardOptions, MtlsOptions } from './schema';

const TLS_FILES: ReadonlyArray<keyof Pick<MtlsOptions, 'certFile' | 'keyFile' | 'caFile'>> = ['certFile', 'keyFile', 'caFile'];

export function isOpenMode(options: Pick<AuthStandardOptions, 'mtls' | 'jwt'>): boolean {
  return !options.mtls && !options.jwt;
}

export function authPreflight(ctx: PreflightContext<AuthStandardOptions>): PreflightResult {
  const { options } = ctx;
  const issues: PreflightIssue[] = [];
  if (options.mtls) {
    for (const field of TLS_FILES) {
      const file = options.mtls[field];
      try {
        readFileSync(path.resolve(ctx.gateway.configDir, file));
      } catch (error) {
        issues.push({ path: `/mtls/${field}`, message: `cannot read "${file}": ${(error as Error).message}` });
      }
    }
  }
  return { issues, facts: { loopbackOnly: isOpenMode(options) } };
}
