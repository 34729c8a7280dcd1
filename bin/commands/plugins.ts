import type { Command } from 'commander';
import { checkDefinition } from '../../kernel/config/resolve';
import { reportFailure, validateFromFlags, type ConfigFlags } from './config-source';
import { printPluginTable, type PluginRow } from './plugin-table';

export function register(program: Command): void {
  program
    .command('plugins')
    .description('list the plugins the config resolves to, with kinds and versions')
    .option('-c, --config <file>', 'config file')
    .option('--defaults', 'use the embedded default config')
    .option('--available', 'list every built-in plugin instead')
    .action(async (flags: ConfigFlags & { available?: boolean }) => {
      try {
        if (flags.available) {
          const { BUILTIN_PLUGINS } = require('../../plugins') as typeof import('../../plugins');
          const rows: PluginRow[] = [];
          for (const [name, load] of Object.entries(BUILTIN_PLUGINS)) {
            let exported = load() as unknown as { default?: unknown };
            if (exported && typeof exported === 'object' && 'default' in exported) exported = exported.default as never;
            const definition = (typeof exported === 'function' ? await (exported as () => unknown)() : exported) as Record<string, string>;
            if (checkDefinition(definition).problems.length > 0) continue;
            rows.push({ name, kind: definition.kind, version: definition.version, source: `builtin:${name}` });
          }
          printPluginTable(rows);
          return;
        }
        const config = await validateFromFlags(flags, { logLevel: 'silent' });
        printPluginTable(
          config.plugins.map((p) => ({ name: p.name, kind: p.definition.kind, version: p.definition.version, source: p.source })),
        );
      } catch (error) {
        process.exitCode = reportFailure(error);
      }
    });
}
