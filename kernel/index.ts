/**
 * Public API of the OpenClaw Gateway kernel: everything a plugin or an embedding program may use.
 * Plugins import from here (or `openclaw-gateway` once published) and from nowhere else in the kernel.
 */
import { providePackageSelf } from './config/package-self';
export * from './errors';
export * from './hooks';
export * from './plugin';
export * from './metrics';
export * from './contracts';
export * from './gateway';
export * from './private-storage';
export * from './config/types';
export { validateTopLevel, validatePluginOptions, describeAjvError } from './config/validate';
export type { ResolvedPlugin } from './config/resolve';

// A config that imports `openclaw-gateway` with no copy beside it gets this API (see package-self.ts).
providePackageSelf(module.exports);
