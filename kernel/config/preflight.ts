/**
 * Runs each plugin's `preflight` in dependency order after its options validated, so `validate`
 * refuses what start would refuse for reasons knowable without binding. A plugin whose options
 * failed, or whose dependency's preflight failed, is skipped: one mistake, one error line.
 */
import path from 'node:path';
import type { ConfigIssue } from '../errors';
import type { KindFacts, PluginKind } from '../plugin';
import type { ResolvedPlugin } from './resolve';

export interface PreflightInput {
  file: string;
  configDir: string;
  dataDir: string;
  /** Plugins (by instance name) that already have an issue; neither they nor their dependents run. */
  failed: ReadonlySet<string>;
}

export async function runPreflights(ordered: readonly ResolvedPlugin[], input: PreflightInput): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const facts = new Map<PluginKind, unknown>();
  const failedKinds = new Set<PluginKind>();
  for (const plugin of ordered) {
    const dependencies = plugin.definition.dependencies ?? [];
    const blocked = input.failed.has(plugin.name) || dependencies.some((dependency) => failedKinds.has(dependency.kind));
    if (blocked) {
      failedKinds.add(plugin.definition.kind);
      continue;
    }
    // eslint-disable-next-line @typescript-eslint/unbound-method -- plugin hooks are plain functions, called without `this`
    const preflight = plugin.definition.preflight;
    if (!preflight) continue;
    const declared = new Set(dependencies.map((dependency) => dependency.kind));
    let found: ConfigIssue[];
    try {
      const result = await preflight({
        name: plugin.name,
        options: plugin.rawOptions as never,
        gateway: { configDir: input.configDir, dataDir: input.dataDir },
        facts: <K extends keyof KindFacts>(kind: K) => (declared.has(kind) ? (facts.get(kind) as KindFacts[K] | undefined) : undefined),
      });
      if (result.facts) facts.set(plugin.definition.kind, result.facts);
      found = (result.issues ?? []).map((issue) => ({
        code: 'GW_CONFIG_INVALID',
        file: input.file,
        plugin: plugin.name,
        path: `/plugins/${plugin.index}/options${issue.path}`,
        message: issue.message,
      }));
    } catch (error) {
      found = [
        {
          code: 'GW_PLUGIN_INVALID',
          file: input.file,
          plugin: plugin.name,
          path: `/plugins/${plugin.index}`,
          message: `the plugin's preflight check failed: ${(error as Error).message}`,
        },
      ];
    }
    if (found.length > 0) failedKinds.add(plugin.definition.kind);
    issues.push(...found);
  }
  return issues;
}

export function resolveDataDir(configDir: string, dataDir: string): string {
  return path.resolve(configDir, dataDir);
}
