/**
 * Catalogue of the built-in plugins, referenced in config by these names. Each entry loads lazily
 * so a gateway only pays for the plugins it uses. Third-party plugins need no entry: they are
 * referenced by npm package name or path. The kernel never imports this file: its callers (the CLI,
 * the package entry `index.ts`, tests) hand it over as the `builtins` option.
 */
import type { PluginCatalogue } from '../kernel';

export const BUILTIN_PLUGINS: PluginCatalogue = {
  'monitor-prometheus': () => require('./monitor-prometheus').default,
  'router-embedded': () => require('./router-embedded').default,
  'router-nats': () => require('./router-nats').default,
  'auth-standard': () => require('./auth-standard').default,
  'registry-memory': () => require('./registry-memory').default,
  'registry-nats': () => require('./registry-nats').default,
  'transport-grpc': () => require('./transport-grpc').default,
  'sandbox-bubblewrap': () => require('./sandbox-bubblewrap').default,
  'sandbox-process': () => require('./sandbox-process').default,
  'supervisor': () => require('./supervisor').default,
};
