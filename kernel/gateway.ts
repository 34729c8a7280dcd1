/**
 * The kernel: loads and validates the config, sets plugins up in dependency order, starts them,
 * and drains and stops them in reverse. It holds no transport, storage or policy code itself.
 */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError, GatewayError, type ConfigIssue } from './errors';
import { createHooks, type GatewayHooks, type PluginSummary } from './hooks';
import { createMetricsFactory, type MetricsFactory } from './metrics';
import { createRootLogger } from './logger';
import { tightenOwnDir } from './private-storage';
import { loadConfigFile } from './config/load';
import { defaultResolveContext, resolvePlugins, type ResolvedPlugin } from './config/resolve';
import { resolveDataDir, runPreflights } from './config/preflight';
import { orderByDependencies, validateKinds, validatePluginOptions, validateTopLevel } from './config/validate';
import type { GatewayConfig, GatewaySettings, LogLevel, PluginEntry } from './config/types';
import type {
  GatewayInfo,
  KernelStage,
  PluginCatalogue,
  KindServices,
  PluginContext,
  PluginInstance,
  PluginKind,
  ServiceLookup,
} from './plugin';
import type { TransportService } from './contracts/transport';
import packageJson from '../package.json';

export const KERNEL_VERSION: string = packageJson.version;

export interface GatewayOptions {
  /** A programmatic config; takes precedence over files. */
  config?: GatewayConfig;
  /** An explicit config file (`-c file`), relative to `cwd`. */
  configFile?: string;
  /** Where to search for a config file and what relative paths are resolved against. */
  cwd?: string;
  /**
   * Plugins the config may name bare (`'router-embedded'`). The kernel knows none by itself: the
   * CLI and the package entry (`index.ts`) pass the built-in catalogue; without one, entries are
   * npm packages, paths or inline plugins.
   */
  builtins?: PluginCatalogue;
  /** Overrides the config's log level (tests use `silent`). */
  logLevel?: LogLevel;
  logger?: Logger;
}

/** A config that passed every check, ready to be started. */
export interface ValidatedConfig {
  file: string;
  configDir: string;
  settings: Required<Pick<GatewaySettings, 'dataDir' | 'drainTimeoutMs'>> & GatewaySettings;
  plugins: ResolvedPlugin[];
  raw: GatewayConfig;
}

function normaliseEntries(config: GatewayConfig): GatewayConfig {
  if (!config || typeof config !== 'object' || !Array.isArray(config.plugins)) return config;
  // A bare factory function is a valid entry but not JSON-shaped; wrap it so the schema can check the rest.
  const plugins = config.plugins.map((entry: PluginEntry) => (typeof entry === 'function' ? { use: entry } : entry));
  return { ...config, plugins };
}

/** Loads and validates a config. Every problem is reported at once in one ConfigError. */
export async function validateConfig(options: GatewayOptions = {}): Promise<ValidatedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  let file = '<inline>';
  let raw: unknown = options.config;
  if (raw === undefined) {
    const loaded = await loadConfigFile({ file: options.configFile, cwd });
    if (!loaded) {
      throw new GatewayError(
        'GW_CONFIG_NOT_FOUND',
        `no gateway config found in ${cwd} (looked for gateway.config.ts/.js/.mjs/.json/.yaml, .gatewayrc*, package.json "openclaw-gateway")`,
      );
    }
    file = loaded.filepath;
    raw = loaded.config;
  }
  const configDir = file === '<inline>' ? cwd : path.dirname(file);
  const config = normaliseEntries(raw as GatewayConfig);

  const issues: ConfigIssue[] = validateTopLevel(config, file);
  if (!config || typeof config !== 'object' || !Array.isArray(config.plugins)) throw new ConfigError(issues);

  const resolved = await resolvePlugins(config.plugins, defaultResolveContext(file, configDir, options.builtins));
  issues.push(...resolved.issues);
  // Unresolved plugins have unknown kinds: "required kind missing" would only repeat their error.
  const kindIssues = validateKinds(resolved.plugins, file);
  issues.push(...(resolved.issues.length > 0 ? kindIssues.filter((i) => i.code !== 'GW_PLUGIN_KIND_MISSING') : kindIssues));
  issues.push(...validatePluginOptions(resolved.plugins, file));
  const { ordered, issues: orderIssues } = orderByDependencies(resolved.plugins, file);
  // A plugin that did not load may be the missing provider: "depends on X, none configured" would
  // be a follow-on error of the one already reported.
  issues.push(...(resolved.issues.length > 0 ? orderIssues.filter((i) => i.code !== 'GW_PLUGIN_DEPENDENCY_MISSING') : orderIssues));

  const settings = { dataDir: './data', drainTimeoutMs: 10_000, ...(config.gateway ?? {}) };
  // Whole-config problems (kinds, cycles) make the environment checks moot; plugin-level ones skip only that plugin.
  if (!issues.some((issue) => issue.plugin === undefined || issue.code === 'GW_PLUGIN_DEPENDENCY_CYCLE')) {
    const failed = new Set(issues.map((issue) => issue.plugin).filter((name): name is string => name !== undefined));
    issues.push(...(await runPreflights(ordered, { file, configDir, dataDir: resolveDataDir(configDir, settings.dataDir), failed })));
  }
  if (issues.length > 0) throw new ConfigError(issues);

  return { file, configDir, settings, plugins: ordered, raw: config };
}

interface LoadedPlugin {
  resolved: ResolvedPlugin;
  instance?: PluginInstance<unknown>;
  started: boolean;
}

export class Gateway {
  readonly hooks: GatewayHooks = createHooks();
  readonly metrics: MetricsFactory;
  readonly logger: Logger;
  readonly info: GatewayInfo;
  readonly config: ValidatedConfig;

  private currentStage: KernelStage = 'validated';
  private readonly loaded: LoadedPlugin[];
  private readonly services = new Map<PluginKind, unknown>();
  private readonly transportServices: TransportService[] = [];
  private readonly abort = new AbortController();
  private stopping?: Promise<void>;
  private stopReason?: string;

  constructor(config: ValidatedConfig, options: Pick<GatewayOptions, 'logLevel' | 'logger'> = {}) {
    this.config = config;
    const id = config.settings.id ?? `gw-${os.hostname().split('.')[0]}-${randomBytes(3).toString('hex')}`;
    this.logger = options.logger ?? createRootLogger({ ...config.settings, id }, options.logLevel);
    this.metrics = createMetricsFactory({ processMetrics: config.settings.processMetrics });
    this.loaded = config.plugins.map((resolved) => ({ resolved, started: false }));
    const dataDir = path.resolve(config.configDir, config.settings.dataDir);
    const startedAt = Date.now();
    const summaries = this.plugins();
    this.info = {
      id,
      version: KERNEL_VERSION,
      dataDir,
      configDir: config.configDir,
      startedAt,
      isDraining: () => this.currentStage === 'draining',
      stage: () => this.currentStage,
      plugins: () => summaries,
    };
  }

  get stage(): KernelStage {
    return this.currentStage;
  }

  plugins(): PluginSummary[] {
    return this.loaded.map(({ resolved }) => ({
      name: resolved.name,
      kind: resolved.definition.kind,
      version: resolved.definition.version,
      source: resolved.source,
    }));
  }

  service<K extends PluginKind>(kind: K): KindServices[K] | undefined {
    return this.services.get(kind) as KindServices[K] | undefined;
  }

  transports(): readonly TransportService[] {
    return this.transportServices;
  }

  /**
   * Sets plugins up in dependency order and starts them; on any failure rolls back and throws. A
   * stop() during the start wins: no further plugin is set up or started, the start rejects with
   * GW_KERNEL_STATE, and the stop releases what was started.
   */
  async start(): Promise<void> {
    if (this.currentStage !== 'validated') {
      throw new GatewayError('GW_KERNEL_STATE', `cannot start a gateway in stage "${this.currentStage}"`);
    }
    const summaries = this.plugins();
    this.makeDataDirPrivate();
    this.hooks.configLoaded.call(this.config.raw as unknown as Record<string, unknown>);
    this.currentStage = 'config-loaded';
    this.hooks.pluginsValidated.call(summaries);

    for (const entry of this.loaded) {
      this.throwIfStopRequested();
      let instance: PluginInstance<unknown>;
      try {
        instance = await entry.resolved.definition.setup(this.contextFor(entry.resolved));
      } catch (error) {
        this.throwIfStopRequested(error);
        await this.rollback();
        throw new GatewayError(
          'GW_PLUGIN_SETUP_FAILED',
          `plugin "${entry.resolved.name}" failed during setup: ${(error as Error).message}`,
          { cause: error, details: { plugin: entry.resolved.name } },
        );
      }
      if (this.stopping) {
        // The stop already released the others; this one came too late for it.
        await this.stopInstance(entry, instance);
        this.throwIfStopRequested();
      }
      entry.instance = instance;
      this.registerService(entry);
    }
    this.currentStage = 'initialized';
    await this.hooks.pluginsInitialized.promise(summaries);

    this.throwIfStopRequested();
    this.currentStage = 'starting';
    for (const entry of this.loaded) {
      this.throwIfStopRequested();
      try {
        await entry.instance?.start?.();
        entry.started = true;
      } catch (error) {
        this.throwIfStopRequested(error);
        this.logger.error({ plugin: entry.resolved.name, err: error }, 'plugin failed to start; rolling back');
        await this.rollback();
        throw new GatewayError('GW_PLUGIN_START_FAILED', `plugin "${entry.resolved.name}" failed to start: ${(error as Error).message}`, {
          cause: error,
          details: { plugin: entry.resolved.name },
        });
      }
    }
    this.throwIfStopRequested();
    this.currentStage = 'started';
    await this.hooks.started.promise();
    this.throwIfStopRequested();
    this.currentStage = 'ready';
    this.hooks.ready.call();
    this.logger.info({ plugins: summaries.map((p) => `${p.name}@${p.version}`) }, 'gateway ready');
  }

  private throwIfStopRequested(cause?: unknown): void {
    if (this.stopReason === undefined) return;
    throw new GatewayError('GW_KERNEL_STATE', `start interrupted: the gateway was stopped (${this.stopReason}) before it was ready`, {
      cause,
    });
  }

  /** The data dir holds stores and payloads: 0700 whatever the umask (docs/operations.md). */
  private makeDataDirPrivate(): void {
    const { dataDir } = this.info;
    try {
      const { tightenedFrom, leftOpen } = tightenOwnDir(dataDir);
      if (tightenedFrom !== undefined)
        this.logger.warn({ dataDir, was: tightenedFrom.toString(8) }, 'data dir was readable by other users; set to 0700');
      if (leftOpen)
        this.logger.warn(
          { dataDir, why: leftOpen },
          'data dir is readable by other users and was left so; choose a private gateway.dataDir',
        );
    } catch (error) {
      throw new GatewayError(
        'GW_CONFIG_INVALID',
        `gateway.dataDir: cannot create "${dataDir}" as a private directory: ${(error as Error).message}`,
        {
          field: 'gateway.dataDir',
          cause: error,
        },
      );
    }
  }

  /**
   * Graceful shutdown: draining hook, then each plugin drains in reverse dependency order (the
   * transport stops accepting first), bounded by the drain timeout; then every plugin stops.
   * Resolves `true` when the drain finished in time.
   */
  stop(reason = 'stop requested'): Promise<void> {
    this.stopReason ??= reason;
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.currentStage === 'validated') {
      this.currentStage = 'stopped';
      return;
    }
    const deadline = Date.now() + this.config.settings.drainTimeoutMs;
    this.currentStage = 'draining';
    this.logger.info({ reason, drainTimeoutMs: this.config.settings.drainTimeoutMs }, 'draining');
    const drained = await withDeadline(this.drainAll({ deadline, reason }), deadline);
    if (!drained) this.logger.warn({ reason }, 'GW_DRAIN_TIMEOUT: drain did not finish in time; stopping plugins anyway');
    this.abort.abort();
    await this.stopAll();
    this.currentStage = 'stopped';
    this.hooks.stopped.call();
    this.logger.info('gateway stopped');
  }

  private async drainAll(drain: { deadline: number; reason: string }): Promise<void> {
    await this.hooks.draining.promise(drain);
    for (const entry of [...this.loaded].reverse()) {
      if (!entry.started) continue;
      try {
        await entry.instance?.drain?.(drain);
      } catch (error) {
        this.logger.warn({ plugin: entry.resolved.name, err: error }, 'plugin failed while draining');
      }
    }
  }

  private async stopAll(): Promise<void> {
    for (const entry of [...this.loaded].reverse()) {
      if (!entry.instance) continue;
      const instance = entry.instance;
      entry.instance = undefined;
      entry.started = false;
      await this.stopInstance(entry, instance);
    }
  }

  private async stopInstance(entry: LoadedPlugin, instance: PluginInstance<unknown>): Promise<void> {
    try {
      await instance.stop?.();
    } catch (error) {
      this.logger.error({ plugin: entry.resolved.name, err: error }, 'GW_PLUGIN_STOP_FAILED');
    }
  }

  private async rollback(): Promise<void> {
    this.currentStage = 'failed';
    this.abort.abort();
    await this.stopAll();
  }

  private registerService(entry: LoadedPlugin): void {
    const service = entry.instance?.service;
    if (service === undefined) return;
    const kind = entry.resolved.definition.kind;
    if (kind === 'transport') this.transportServices.push(service as TransportService);
    else this.services.set(kind, service);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the options' type is the plugin's own; validated against its schema
  private contextFor(resolved: ResolvedPlugin): PluginContext<any> {
    const declared = new Map((resolved.definition.dependencies ?? []).map((d) => [d.kind, d]));
    const services: ServiceLookup = {
      get: (kind) => {
        if (!declared.has(kind)) {
          throw new GatewayError(
            'GW_PLUGIN_DEPENDENCY_MISSING',
            `plugin "${resolved.name}" asked for the "${kind}" service without declaring it in \`dependencies\``,
          );
        }
        const service = kind === 'transport' ? this.transportServices[0] : this.services.get(kind);
        if (service === undefined) {
          throw new GatewayError('GW_PLUGIN_DEPENDENCY_MISSING', `no "${kind}" service is available to "${resolved.name}"`);
        }
        return service as never;
      },
      find: (kind) => {
        if (!declared.has(kind)) return undefined;
        return (kind === 'transport' ? this.transportServices[0] : this.services.get(kind)) as never;
      },
      transports: () => this.transportServices,
    };
    const logger = this.logger.child({ plugin: resolved.name }, resolved.logLevel ? { level: resolved.logLevel } : undefined);
    return {
      name: resolved.name,
      options: resolved.rawOptions,
      logger,
      hooks: this.hooks,
      services,
      metrics: this.metrics,
      gateway: this.info,
      signal: this.abort.signal,
    };
  }
}

async function withDeadline(work: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loads and validates the config and returns a gateway ready to `start()`. */
export async function loadGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const config = await validateConfig(options);
  return new Gateway(config, options);
}

/** Loads, validates and starts a gateway. */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const gateway = await loadGateway(options);
  await gateway.start();
  return gateway;
}
