/**
 * Finds and reads the gateway config with cosmiconfig: `gateway.config.ts|js|mjs|cjs|json|yaml`,
 * `.gatewayrc*`, `.config/gatewayrc*`, or an `openclaw-gateway` key in package.json.
 */
import path from 'node:path';
import { cosmiconfig, defaultLoaders, type CosmiconfigResult, type Loader } from 'cosmiconfig';
import { GatewayError, isGatewayError } from '../errors';
import { assertParses, loadTypeScriptModule } from './typescript-module';

export const CONFIG_MODULE_NAME = 'gateway';
export const PACKAGE_JSON_KEY = 'openclaw-gateway';

const SEARCH_PLACES = [
  'package.json',
  'gateway.config.ts',
  'gateway.config.js',
  'gateway.config.mjs',
  'gateway.config.cjs',
  'gateway.config.json',
  'gateway.config.yaml',
  'gateway.config.yml',
  '.gatewayrc',
  '.gatewayrc.json',
  '.gatewayrc.yaml',
  '.gatewayrc.yml',
  '.gatewayrc.js',
  '.gatewayrc.cjs',
  '.gatewayrc.ts',
  '.config/gatewayrc',
  '.config/gatewayrc.json',
  '.config/gatewayrc.yaml',
];

export interface LoadedConfigFile {
  filepath: string;
  config: unknown;
}

/**
 * TypeScript configs are parsed by TypeScript itself (cosmiconfig's loader ignores the diagnostics
 * and lets Node report a temp file instead) and JavaScript ones are parsed before Node runs them,
 * so a syntax error is reported at its line and column in the operator's file.
 */
const loadTypeScript: Loader = (filepath) => loadTypeScriptModule(filepath);
const checkedJavaScript =
  (load: Loader): Loader =>
  (filepath, content) => {
    assertParses(filepath, content);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- a config is whatever the file exports; validated next
    return load(filepath, content);
  };
const LOADERS = {
  '.ts': loadTypeScript,
  '.mts': loadTypeScript,
  '.cts': loadTypeScript,
  '.js': checkedJavaScript(defaultLoaders['.js']),
  '.mjs': checkedJavaScript(defaultLoaders['.mjs']),
  '.cjs': checkedJavaScript(defaultLoaders['.cjs']),
};

function explorer() {
  return cosmiconfig(CONFIG_MODULE_NAME, {
    packageProp: PACKAGE_JSON_KEY,
    searchPlaces: SEARCH_PLACES,
    loaders: LOADERS,
    // Stop at the working directory: a config in a parent folder would be a surprise for a daemon.
    searchStrategy: 'none',
    cache: false,
  });
}

function unwrap(result: CosmiconfigResult): LoadedConfigFile | undefined {
  if (!result) return undefined;
  let config = result.config as unknown;
  // `export default` from a transpiled TS/ESM module arrives as { default: ... }.
  if (config && typeof config === 'object' && 'default' in config && Object.keys(config).length === 1) {
    config = config.default;
  }
  return { filepath: result.filepath, config };
}

/** Loads an explicit file (`-c file`) or searches `cwd`. Returns undefined when nothing is found. */
export async function loadConfigFile(options: { file?: string; cwd: string }): Promise<LoadedConfigFile | undefined> {
  const search = explorer();
  try {
    if (options.file) {
      const filepath = path.resolve(options.cwd, options.file);
      return unwrap(await search.load(filepath));
    }
    return unwrap(await search.search(options.cwd));
  } catch (error) {
    if (isGatewayError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new GatewayError('GW_CONFIG_NOT_FOUND', `config file not found: ${options.file}`, { cause: error });
    }
    const where = options.file ? path.resolve(options.cwd, options.file) : options.cwd;
    throw new GatewayError('GW_CONFIG_LOAD_FAILED', `could not load config ${where}: ${(error as Error).message}`, { cause: error });
  }
}
