/**
 * Turns config plugin entries into plugin definitions: names from the catalogue the caller handed
 * the kernel, npm package names (resolved from the config file's folder, as an operator would
 * expect), relative paths, or inline objects. Every problem becomes a located ConfigIssue; nothing
 * throws past here. The kernel knows no plugin itself, so it never imports `plugins/`.
 */
import path from 'node:path';
import type { ConfigIssue } from '../errors';
import { PLUGIN_KINDS, type AnyPluginDefinition, type PluginCatalogue, type PluginDefinition } from '../plugin';
import type { LogLevel, PluginEntry, PluginEntryObject, PluginReference } from './types';
import { requireLocalModule } from './typescript-module';

export interface ResolvedPlugin {
  definition: AnyPluginDefinition;
  /** Instance name, unique across the config. */
  name: string;
  /** `builtin:<name>`, `npm:<package>`, `file:<path>` or `inline`. */
  source: string;
  rawOptions: Record<string, unknown>;
  logLevel?: LogLevel;
  /** Position in the config's `plugins` array, for JSON paths in errors. */
  index: number;
}

export interface ResolveContext {
  file: string;
  configDir: string;
  /** Names a config may use bare; each loads lazily, so only referenced plugins are required. */
  builtins: PluginCatalogue;
}

export function defaultResolveContext(file: string, configDir: string, builtins: PluginCatalogue = {}): ResolveContext {
  return { file, configDir, builtins };
}

function isEntryObject(entry: PluginEntry): entry is PluginEntryObject {
  return typeof entry === 'object' && entry !== null && 'use' in entry;
}

function describeReference(reference: PluginReference): string {
  if (typeof reference === 'string') return reference;
  if (typeof reference === 'function') return reference.name || '<factory>';
  return (reference as { name?: string }).name ?? '<inline>';
}

function isRelativePath(reference: string): boolean {
  return reference.startsWith('./') || reference.startsWith('../') || path.isAbsolute(reference);
}

function requireModule(reference: string, context: ResolveContext): { exported: unknown; source: string } {
  if (Object.prototype.hasOwnProperty.call(context.builtins, reference)) {
    return { exported: context.builtins[reference](), source: `builtin:${reference}` };
  }
  if (isRelativePath(reference)) {
    const absolute = path.resolve(context.configDir, reference);
    return { exported: requireLocalModule(absolute).exported, source: `file:${absolute}` };
  }
  const resolved = require.resolve(reference, { paths: [context.configDir] });
  return { exported: require(resolved), source: `npm:${reference}` };
}

function unwrapModule(exported: unknown): unknown {
  if (exported && typeof exported === 'object' && 'default' in exported) {
    const value = exported.default;
    if (value !== undefined) return value;
  }
  return exported;
}

/** Structural check of the plugin contract; returns what is wrong, or an empty list. */
export function checkDefinition(candidate: unknown): { problems: string[]; unknownKind?: string } {
  if (!candidate || typeof candidate !== 'object') return { problems: ['the module does not export a plugin object'] };
  const plugin = candidate as Partial<PluginDefinition>;
  const problems: string[] = [];
  if (typeof plugin.name !== 'string' || plugin.name.length === 0) problems.push('`name` must be a non-empty string');
  if (typeof plugin.version !== 'string' || plugin.version.length === 0) problems.push('`version` must be a non-empty string');
  if (!plugin.schema || typeof plugin.schema !== 'object') problems.push('`schema` must be a JSON schema object');
  if (typeof plugin.setup !== 'function') problems.push('`setup` must be a function');
  if (plugin.dependencies !== undefined && !Array.isArray(plugin.dependencies)) problems.push('`dependencies` must be an array');
  if (typeof plugin.kind !== 'string') problems.push('`kind` must be a string');
  else if (!PLUGIN_KINDS.includes(plugin.kind)) return { problems, unknownKind: plugin.kind };
  return { problems };
}

export async function resolvePlugins(
  entries: readonly PluginEntry[],
  context: ResolveContext,
): Promise<{ plugins: ResolvedPlugin[]; issues: ConfigIssue[] }> {
  const plugins: ResolvedPlugin[] = [];
  const issues: ConfigIssue[] = [];

  for (const [index, entry] of entries.entries()) {
    const entryObject: PluginEntryObject = isEntryObject(entry) ? entry : { use: entry };
    if (entryObject.enabled === false) continue;
    const jsonPath = isEntryObject(entry) ? `/plugins/${index}/use` : `/plugins/${index}`;
    const label = entryObject.name ?? describeReference(entryObject.use);
    let candidate: unknown;
    let source = 'inline';
    try {
      if (typeof entryObject.use === 'string') {
        const loaded = requireModule(entryObject.use, context);
        candidate = unwrapModule(loaded.exported);
        source = loaded.source;
      } else {
        candidate = entryObject.use;
      }
      if (typeof candidate === 'function') candidate = await (candidate as () => unknown)();
    } catch (error) {
      const notFound = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
      issues.push({
        code: 'GW_PLUGIN_NOT_FOUND',
        file: context.file,
        plugin: label,
        path: jsonPath,
        message: notFound
          ? `cannot find plugin "${label}": expected a built-in name (${Object.keys(context.builtins).join(', ') || 'none'}), an installed npm package, or a path starting with ./`
          : `plugin "${label}" failed to load: ${(error as Error).message}`,
      });
      continue;
    }

    const { problems, unknownKind } = checkDefinition(candidate);
    if (unknownKind !== undefined) {
      issues.push({
        code: 'GW_PLUGIN_KIND_UNKNOWN',
        file: context.file,
        plugin: label,
        path: jsonPath,
        message: `plugin declares kind "${unknownKind}"; expected one of ${PLUGIN_KINDS.join(', ')}`,
      });
      continue;
    }
    if (problems.length > 0) {
      issues.push({
        code: 'GW_PLUGIN_INVALID',
        file: context.file,
        plugin: label,
        path: jsonPath,
        message: `not a valid plugin: ${problems.join('; ')}`,
      });
      continue;
    }
    const definition = candidate as AnyPluginDefinition;
    plugins.push({
      definition,
      name: entryObject.name ?? definition.name,
      source,
      rawOptions: { ...(entryObject.options ?? {}) },
      logLevel: entryObject.logLevel,
      index,
    });
  }
  return { plugins, issues };
}
