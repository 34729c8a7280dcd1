import type { AnyPluginDefinition, PluginFactory } from '../plugin';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface GatewaySettings {
  /** Stable id of this gateway instance; generated per start when absent. */
  id?: string;
  /** Directory for durable state, relative to the config file. Default `./data`. */
  dataDir?: string;
  /** How long a graceful shutdown may take before plugins are stopped regardless. Default 10000. */
  drainTimeoutMs?: number;
  logLevel?: LogLevel;
  /** `auto` (default): pretty on a terminal, JSON otherwise. */
  logFormat?: 'auto' | 'json' | 'pretty';
  processMetrics?: boolean;
}

/** Where a plugin comes from: a built-in name, an npm package name, a relative path, or inline. */
export type PluginReference = string | AnyPluginDefinition | PluginFactory;

export interface PluginEntryObject {
  use: PluginReference;
  /** Instance name; defaults to the plugin's own name. */
  name?: string;
  options?: Record<string, unknown>;
  logLevel?: LogLevel;
  enabled?: boolean;
}

export type PluginEntry = PluginReference | PluginEntryObject;

export interface GatewayConfig {
  gateway?: GatewaySettings;
  plugins: PluginEntry[];
}

/** Typed helper for `gateway.config.ts`: `export default defineConfig({ plugins: [...] })`. */
export function defineConfig(config: GatewayConfig): GatewayConfig {
  return config;
}
