/**
 * `openclaw-gateway` CLI. Commands live one per file in `bin/commands/`, each exporting
 * `register(program)`, so a feature adds its commands without touching this file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { KERNEL_VERSION } from '../kernel';

export interface CommandModule {
  register(program: Command): void;
}

function commandFiles(): string[] {
  const dir = path.join(__dirname, 'commands');
  return fs
    .readdirSync(dir)
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .sort()
    .map((file) => path.join(dir, file));
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('openclaw-gateway')
    .description('OpenClaw Gateway: a plugin-extensible gateway for multi-agent AI systems')
    .version(KERNEL_VERSION, '-v, --version')
    .showHelpAfterError()
    // Options after a subcommand belong to it, so `agents upgrade w --version 2.0.0` is not the
    // program's own --version. Subcommands inherit this; each declares the options it accepts.
    .enablePositionalOptions()
    .exitOverride();
  for (const file of commandFiles()) {
    const module = require(file) as Partial<CommandModule>;
    if (typeof module.register === 'function') module.register(program);
  }
  return program;
}

/** Runs the CLI and resolves the exit code (commands that serve, like `start`, resolve when done). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
