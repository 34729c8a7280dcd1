import type { Command } from 'commander';
import { reportFailure, validateFromFlags, type ConfigFlags } from './config-source';
import { printPluginTable } from './plugin-table';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check the config and every plugin option; print the resolved plugins or every error')
    .option('-c, --config <file>', 'config file (default: search the working directory, then the embedded defaults)')
    .option('--defaults', 'validate the embedded default config')
    .action(async (flags: ConfigFlags) => {
      try {
        const config = await validateFromFlags(flags, { logLevel: 'silent' });
        console.log(`config OK: ${config.file}`);
        printPluginTable(
          config.plugins.map((p) => ({ name: p.name, kind: p.definition.kind, version: p.definition.version, source: p.source })),
        );
      } catch (error) {
        process.exitCode = reportFailure(error);
      }
    });
}
