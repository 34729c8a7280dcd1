/** How the CLI finds its config: `-c file`, else a config in the working directory, else the embedded defaults. */
import path from 'node:path';
import { GatewayError, isGatewayError, validateConfig as validateWith, type GatewayOptions, type ValidatedConfig } from '../../kernel';
import { BUILTIN_PLUGINS } from '../../plugins';

export interface ConfigFlags {
  config?: string;
  defaults?: boolean;
}

export const DEFAULT_CONFIG_FILE = path.join(__dirname, '..', '..', 'config', 'default.config');

/** The CLI hands the kernel the built-in catalogue; `extra.builtins` may replace it. */
function validateConfig(options: GatewayOptions): Promise<ValidatedConfig> {
  return validateWith({ builtins: BUILTIN_PLUGINS, ...options });
}

export async function validateFromFlags(flags: ConfigFlags, extra: GatewayOptions = {}): Promise<ValidatedConfig> {
  const cwd = process.cwd();
  if (flags.config) return validateConfig({ ...extra, configFile: flags.config, cwd });
  if (!flags.defaults) {
    try {
      return await validateConfig({ ...extra, cwd });
    } catch (error) {
      if (!isGatewayError(error) || error.code !== 'GW_CONFIG_NOT_FOUND') throw error;
    }
  }
  return validateConfig({ ...extra, configFile: resolveDefaultConfig(), cwd });
}

function resolveDefaultConfig(): string {
  for (const extension of ['.js', '.ts']) {
    try {
      return require.resolve(DEFAULT_CONFIG_FILE + extension);
    } catch {
      // try the next extension: .js in a build, .ts in a source checkout
    }
  }
  throw new GatewayError('GW_CONFIG_NOT_FOUND', `embedded default config missing at ${DEFAULT_CONFIG_FILE}`);
}

/** Prints a config or start failure the way an operator can act on, and returns the exit code. */
export function reportFailure(error: unknown): number {
  if (isGatewayError(error)) {
    console.error(error.toString());
    return 1;
  }
  console.error(error);
  return 1;
}
