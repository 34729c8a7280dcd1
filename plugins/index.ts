/**
 * Catalogue of the built-in plugins, referenced in config by these names. Each entry loads lazily
 * so a gateway only pays for the plugins it uses. Third-party plugins need no entry: they are
 * referenced by npm package name or path. The kernel never imports this file: its callers (the CLI,
 * the package entry `index.ts`, tests) hand it over as the `builtins` option.
 */
import type { PluginCatalogue, PluginModuleExport } from '../kernel';

type PluginModule = { default: PluginModuleExport };

export const BUILTIN_PLUGINS: PluginCatalogue = {
  'monitor-prometheus': () => (require('./monitor-prometheus') as PluginModule).default,
  'router-embedded': () => (require('./router-embedded') as PluginModule).default,
  'router-nats': () => (require('./router-nats') as PluginModule).default,
  'auth-standard': () => (require('./auth-standard') as PluginModule).default,
  'registry-memory': () => (require('./registry-memory') as PluginModule).default,
  'registry-nats': () => (require('./registry-nats') as PluginModule).default,
  'transport-grpc': () => (require('./transport-grpc') as PluginModule).default,
  'transport-a2a': () => (require('./transport-a2a') as PluginModule).default,
  'sandbox-bubblewrap': () => (require('./sandbox-bubblewrap') as PluginModule).default,
  'sandbox-process': () => (require('./sandbox-process') as PluginModule).default,
  supervisor: () => (require('./supervisor') as PluginModule).default,
};
