/**
 * The plugin contract: the only thing a plugin (built in or from npm) needs to know about the kernel.
 *
 * A plugin is a plain object (or a factory returning one) with a name, a kind, a version, a JSON
 * schema for its options and a `setup` that receives a narrow context. The kernel validates the
 * options against the schema (applying defaults) before any plugin is set up, orders setup by
 * declared dependencies, and hands each plugin the typed services of the kinds it depends on only.
 */
import type { Logger } from 'pino';
import type { GatewayHooks, PluginSummary } from './hooks';
import type { MetricsFactory } from './metrics';
import type { AuthService } from './contracts/auth';
import type { MonitorService } from './contracts/monitor';
import type { RegistryService } from './contracts/registry';
import type { RouterService } from './contracts/router';
import type { SandboxService } from './contracts/sandbox';
import type { SupervisorService } from './contracts/supervisor';
import type { TransportService } from './contracts/transport';

/** The service each kind provides to plugins that depend on it. */
export interface KindServices {
  registry: RegistryService;
  router: RouterService;
  auth: AuthService;
  sandbox: SandboxService;
  supervisor: SupervisorService;
  monitor: MonitorService;
  transport: TransportService;
}

export type PluginKind = keyof KindServices;

export const PLUGIN_KINDS: readonly PluginKind[] = ['registry', 'router', 'auth', 'sandbox', 'supervisor', 'monitor', 'transport'];

/** Kinds of which at most one plugin may be configured. Several transports may run at once. */
export const SINGLE_INSTANCE_KINDS: ReadonlySet<PluginKind> = new Set<PluginKind>([
  'registry',
  'router',
  'auth',
  'sandbox',
  'supervisor',
  'monitor',
]);

/** Kinds the gateway cannot run without. */
export const REQUIRED_KINDS: readonly PluginKind[] = ['registry', 'router', 'auth', 'transport'];

export interface PluginDependency {
  kind: PluginKind;
  /** Optional dependencies are set up first when present and `undefined` otherwise. */
  optional?: boolean;
}

/** What the kernel knows about the running gateway, read-only. */
export interface GatewayInfo {
  /** Unique per gateway instance (stable across restarts when configured). */
  readonly id: string;
  readonly version: string;
  /** Directory for plugin state (durable stores); each plugin should use a subfolder named after itself. */
  readonly dataDir: string;
  /** Directory of the config file, for resolving relative paths in options. */
  readonly configDir: string;
  isDraining(): boolean;
  /** Current kernel stage, e.g. `ready` or `draining` (readiness probes use it). */
  stage(): KernelStage;
  /** Every configured plugin, in setup order. */
  plugins(): readonly PluginSummary[];
  /** Epoch ms when the gateway started. */
  readonly startedAt: number;
}

export type KernelStage =
  'created' | 'config-loaded' | 'validated' | 'initialized' | 'starting' | 'started' | 'ready' | 'draining' | 'stopped' | 'failed';

export interface ServiceLookup {
  /** The service of a kind this plugin declared as a dependency. Throws for undeclared kinds. */
  get<K extends PluginKind>(kind: K): KindServices[K];
  /** The service of an optional dependency, or undefined when none is configured. */
  find<K extends PluginKind>(kind: K): KindServices[K] | undefined;
  /** Every transport's service (several may be configured). */
  transports(): readonly TransportService[];
}

export interface PluginContext<Options> {
  /** The plugin's instance name (unique in the config). Use it to name hook taps. */
  readonly name: string;
  /** Options validated against the plugin's schema, with defaults applied. */
  readonly options: Options;
  readonly logger: Logger;
  readonly hooks: GatewayHooks;
  readonly services: ServiceLookup;
  readonly metrics: MetricsFactory;
  readonly gateway: GatewayInfo;
  /** Aborted when the gateway stops; timers and loops started by the plugin should honour it. */
  readonly signal: AbortSignal;
}

export interface PluginInstance<Service = unknown> {
  /** What dependents get from `services.get(kind)`. */
  service?: Service;
  /** Open listeners, connect to servers, start timers. Throwing here rolls back started plugins. */
  start?(): Promise<void> | void;
  /** Stop accepting new work and finish in-flight work before `drain.deadline`. */
  drain?(drain: { deadline: number; reason: string }): Promise<void> | void;
  /** Release everything. Called in reverse dependency order, also after a failed start. */
  stop?(): Promise<void> | void;
}

/**
 * What a plugin's preflight tells the preflights of the plugins that depend on its kind, so a
 * check that needs another kind's settings (a transport's listeners against the auth mode) gives
 * the same verdict in `validate` as at start.
 */
export interface KindFacts {
  auth: {
    /** Only loopback listeners are allowed (open mode): the same answer as `AuthService.loopbackOnly()`. */
    loopbackOnly: boolean;
  };
}

export interface PreflightContext<Options> {
  readonly name: string;
  /** Options validated against the plugin's schema, with defaults applied. */
  readonly options: Options;
  readonly gateway: Pick<GatewayInfo, 'dataDir' | 'configDir'>;
  /** Facts from the preflight of a kind this plugin depends on; undefined when that plugin declares none. */
  facts<K extends keyof KindFacts>(kind: K): KindFacts[K] | undefined;
}

export interface PreflightIssue {
  /** JSON pointer into the plugin's options, e.g. `/listen/1/socket`. */
  path: string;
  message: string;
}

export interface PreflightResult {
  issues?: PreflightIssue[];
  /** Facts for dependents; only kinds listed in {@link KindFacts} have any. */
  facts?: Partial<KindFacts[keyof KindFacts]>;
}

export interface PluginDefinition<Options = Record<string, unknown>, Service = unknown> {
  name: string;
  kind: PluginKind;
  version: string;
  /** JSON schema of the options (draft 2020-12 or 07 subset that ajv supports). */
  schema: Record<string, unknown>;
  dependencies?: readonly PluginDependency[];
  description?: string;
  /**
   * Checks what can be known without binding or connecting (files readable, folders writable,
   * addresses usable), run by `validate` and before setup, in dependency order. It must not open
   * anything; start repeats the checks it needs, so both give the same verdict.
   */
  preflight?(context: PreflightContext<Options>): PreflightResult | Promise<PreflightResult>;
  setup(context: PluginContext<Options>): Promise<PluginInstance<Service>> | PluginInstance<Service>;
}

/**
 * A plugin of any options and service types. `any` on purpose: `setup` takes the options, so a
 * concrete plugin is not a `PluginDefinition<unknown, unknown>`; the kernel validates the options
 * against the plugin's schema and hands the service only to declared dependants.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPluginDefinition = PluginDefinition<any, any>;

/** A module may export the definition itself or a factory that returns one. */
export type PluginFactory = () => AnyPluginDefinition | Promise<AnyPluginDefinition>;
export type PluginModuleExport = AnyPluginDefinition | PluginFactory;

/**
 * Plugins a caller makes referable by bare name in a config (`'router-embedded'`), each loaded
 * lazily. The kernel ships none: the CLI and the package entry hand it the built-in catalogue.
 */
export type PluginCatalogue = Readonly<Record<string, () => PluginModuleExport>>;

/** Typed helper for plugin authors: `export default definePlugin<MyOptions, MyService>({...})`. */
export function definePlugin<Options, Service = unknown>(
  definition: PluginDefinition<Options, Service>,
): PluginDefinition<Options, Service> {
  return definition;
}
