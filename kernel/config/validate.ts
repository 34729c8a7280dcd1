/**
 * Validation happens once, up front, and reports every problem at once: the operator fixes the
 * whole config in one pass instead of discovering errors one restart at a time.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { ConfigIssue } from '../errors';
import { REQUIRED_KINDS, SINGLE_INSTANCE_KINDS, type PluginKind } from '../plugin';
import type { ResolvedPlugin } from './resolve';
import gatewaySchema from '../../config/gateway.schema.json';

const topLevelSchema: Record<string, unknown> = gatewaySchema;

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
  addFormats(ajv);
  return ajv;
}

/** One compiler per process; compiled validators are cached per schema object. */
const ajv = createAjv();
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Turns an ajv error into "what was expected", including the offending value where useful. */
export function describeAjvError(error: ErrorObject): { path: string; message: string } {
  let path = error.instancePath;
  let message = error.message ?? 'is invalid';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperty':
    case 'additionalProperties':
      path = `${path}/${String(params.additionalProperty)}`;
      message = 'unknown property (not allowed by the schema)';
      break;
    case 'required':
      path = `${path}/${String(params.missingProperty)}`;
      message = 'is required';
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'type':
      message = `expected ${String(params.type)}`;
      break;
    default:
      message = `expected a value that ${message}`;
  }
  return { path, message };
}

function valueAt(root: unknown, pointer: string): unknown {
  let node: unknown = root;
  for (const token of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[token.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/** Errors about an object's keys (unknown or missing property) say nothing about the object's value. */
function describesValue(error: ErrorObject): boolean {
  return error.keyword !== 'additionalProperties' && error.keyword !== 'required';
}

function withGot(message: string, value: unknown): string {
  if (value === undefined || typeof value === 'function') return message;
  const text = JSON.stringify(value);
  return text !== undefined && text.length <= 60 ? `${message} (got ${text})` : message;
}

/**
 * One bad value, one error: a `oneOf`/`anyOf` that fails reports every branch's complaints plus its
 * own, so `{ host, port: 99999 }` against "TCP or socket" would also say "socket is required" and
 * "host is not allowed". Keep only the branch that came closest (fewest errors, then the deepest),
 * which is the one the operator meant.
 */
export function pruneAlternatives(errors: readonly ErrorObject[]): ErrorObject[] {
  let result = [...errors];
  for (const alternative of errors.filter((error) => error.keyword === 'oneOf' || error.keyword === 'anyOf')) {
    const prefix = `${alternative.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const error of result) {
      if (!error.schemaPath.startsWith(prefix)) continue;
      const branch = error.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(branch, [...(branches.get(branch) ?? []), error]);
    }
    // No branch errors: the value matched several branches of a oneOf; that error is the message.
    if (branches.size === 0) continue;
    const depth = (list: ErrorObject[]) => Math.max(...list.map((error) => error.instancePath.split('/').length));
    const best = [...branches.values()].sort((a, b) => a.length - b.length || depth(b) - depth(a))[0];
    result = result.filter((error) => error !== alternative && (!error.schemaPath.startsWith(prefix) || best.includes(error)));
  }
  return result;
}

/** Validates the config's top level (not plugin options); fills defaults in `config.gateway`. */
export function validateTopLevel(config: unknown, file: string): ConfigIssue[] {
  const validate = validatorFor(topLevelSchema);
  if (validate(config)) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of pruneAlternatives(validate.errors ?? [])) {
    // anyOf over plugin entry shapes yields one error per branch; report the entry once, plainly.
    const inPluginEntry = /^\/plugins\/\d+$/.test(error.instancePath);
    if (inPluginEntry && (error.keyword === 'type' || error.keyword === 'required' || error.keyword === 'anyOf')) {
      if (seen.has(error.instancePath)) continue;
      seen.add(error.instancePath);
      issues.push({
        code: 'GW_CONFIG_INVALID',
        file,
        path: error.instancePath,
        message: 'expected a plugin reference (string), { use, name?, options? }, or an inline plugin object',
      });
      continue;
    }
    const described = describeAjvError(error);
    issues.push({
      code: 'GW_CONFIG_INVALID',
      file,
      path: described.path,
      message: describesValue(error) ? withGot(described.message, valueAt(config, error.instancePath)) : described.message,
    });
  }
  return issues;
}

/** Validates each plugin's options against its own schema, applying defaults in place. */
export function validatePluginOptions(plugins: readonly ResolvedPlugin[], file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const plugin of plugins) {
    let validate: ValidateFunction;
    try {
      validate = validatorFor(plugin.definition.schema);
    } catch (error) {
      issues.push({
        code: 'GW_PLUGIN_INVALID',
        file,
        plugin: plugin.name,
        path: `/plugins/${plugin.index}`,
        message: `the plugin's options schema does not compile: ${(error as Error).message}`,
      });
      continue;
    }
    if (validate(plugin.rawOptions)) continue;
    for (const error of pruneAlternatives(validate.errors ?? [])) {
      const described = describeAjvError(error);
      issues.push({
        code: 'GW_PLUGIN_OPTIONS_INVALID',
        file,
        plugin: plugin.name,
        path: `/plugins/${plugin.index}/options${described.path}`,
        message: describesValue(error) ? withGot(described.message, valueAt(plugin.rawOptions, error.instancePath)) : described.message,
      });
    }
  }
  return issues;
}

/** Kind rules: unique names, one plugin per single-instance kind, required kinds present. */
export function validateKinds(plugins: readonly ResolvedPlugin[], file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byName = new Map<string, ResolvedPlugin>();
  const byKind = new Map<PluginKind, ResolvedPlugin>();
  for (const plugin of plugins) {
    const sameName = byName.get(plugin.name);
    if (sameName) {
      issues.push({
        code: 'GW_PLUGIN_NAME_DUPLICATE',
        file,
        plugin: plugin.name,
        path: `/plugins/${plugin.index}`,
        message: `name "${plugin.name}" is already used by /plugins/${sameName.index}; give one of them a distinct \`name\``,
      });
    }
    byName.set(plugin.name, plugin);
    const kind = plugin.definition.kind;
    const sameKind = byKind.get(kind);
    if (sameKind && SINGLE_INSTANCE_KINDS.has(kind)) {
      issues.push({
        code: 'GW_PLUGIN_KIND_DUPLICATE',
        file,
        plugin: plugin.name,
        path: `/plugins/${plugin.index}`,
        message: `kind "${kind}" allows one plugin, but "${sameKind.name}" (/plugins/${sameKind.index}) is also configured`,
      });
    }
    if (!sameKind) byKind.set(kind, plugin);
  }
  for (const kind of REQUIRED_KINDS) {
    if (!byKind.has(kind)) {
      issues.push({
        code: 'GW_PLUGIN_KIND_MISSING',
        file,
        path: '/plugins',
        message: `no plugin of required kind "${kind}" is configured (required kinds: ${REQUIRED_KINDS.join(', ')})`,
      });
    }
  }
  return issues;
}

/**
 * Orders plugins so every plugin comes after the plugins of the kinds it depends on, keeping
 * config order otherwise. Missing required dependencies and cycles are reported, not thrown.
 */
export function orderByDependencies(
  plugins: readonly ResolvedPlugin[],
  file: string,
): { ordered: ResolvedPlugin[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const providers = new Map<PluginKind, ResolvedPlugin[]>();
  for (const plugin of plugins) {
    const list = providers.get(plugin.definition.kind) ?? [];
    list.push(plugin);
    providers.set(plugin.definition.kind, list);
  }

  const edges = new Map<ResolvedPlugin, ResolvedPlugin[]>();
  for (const plugin of plugins) {
    const needs: ResolvedPlugin[] = [];
    for (const dependency of plugin.definition.dependencies ?? []) {
      const found = providers.get(dependency.kind);
      if (!found || found.length === 0) {
        if (!dependency.optional) {
          issues.push({
            code: 'GW_PLUGIN_DEPENDENCY_MISSING',
            file,
            plugin: plugin.name,
            path: `/plugins/${plugin.index}`,
            message: `depends on a "${dependency.kind}" plugin, but none is configured`,
          });
        }
        continue;
      }
      needs.push(...found.filter((provider) => provider !== plugin));
    }
    edges.set(plugin, needs);
  }

  const ordered: ResolvedPlugin[] = [];
  const state = new Map<ResolvedPlugin, 'visiting' | 'done'>();
  const stack: ResolvedPlugin[] = [];
  let cycleReported = false;

  const visit = (plugin: ResolvedPlugin): void => {
    const current = state.get(plugin);
    if (current === 'done') return;
    if (current === 'visiting') {
      if (!cycleReported) {
        cycleReported = true;
        const cycle = [...stack.slice(stack.indexOf(plugin)), plugin].map((p) => `${p.name} (${p.definition.kind})`);
        issues.push({
          code: 'GW_PLUGIN_DEPENDENCY_CYCLE',
          file,
          plugin: plugin.name,
          path: `/plugins/${plugin.index}`,
          message: `dependency cycle: ${cycle.join(' -> ')}`,
        });
      }
      return;
    }
    state.set(plugin, 'visiting');
    stack.push(plugin);
    for (const dependency of edges.get(plugin) ?? []) visit(dependency);
    stack.pop();
    state.set(plugin, 'done');
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin);
  return { ordered, issues };
}
