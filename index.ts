/**
 * The package entry (`require('openclaw-gateway')`): the kernel's public API, with the built-in
 * plugin catalogue handed to it. This is the composition root: the kernel knows no plugin, the
 * plugins know only the kernel, and this file is where the two meet, so there is no import circle.
 * An embedding program gets the same behaviour as the CLI: `startGateway({ config })` resolves
 * `'router-embedded'` and the other built-in names. Passing `builtins` replaces the catalogue.
 */
import * as kernel from './kernel';
import { BUILTIN_PLUGINS } from './plugins';
import { providePackageSelf } from './kernel/config/package-self';

export * from './kernel';
export { BUILTIN_PLUGINS };

function withBuiltins(options: kernel.GatewayOptions): kernel.GatewayOptions {
  return { builtins: BUILTIN_PLUGINS, ...options };
}

/** The kernel's `validateConfig`, with the built-in plugins referable by name. */
export function validateConfig(options: kernel.GatewayOptions = {}): Promise<kernel.ValidatedConfig> {
  return kernel.validateConfig(withBuiltins(options));
}

/** The kernel's `loadGateway`, with the built-in plugins referable by name. */
export function loadGateway(options: kernel.GatewayOptions = {}): Promise<kernel.Gateway> {
  return kernel.loadGateway(withBuiltins(options));
}

/** The kernel's `startGateway`, with the built-in plugins referable by name. */
export function startGateway(options: kernel.GatewayOptions = {}): Promise<kernel.Gateway> {
  return kernel.startGateway(withBuiltins(options));
}

// Configs that import `openclaw-gateway` with no copy beside them get this entry's API, built-ins included.
providePackageSelf(module.exports);
