/**
 * Small real plugins for kernel tests: each records what the kernel does to it in a shared journal,
 * so a test can assert the exact order of setup, start, drain and stop.
 */
import { definePlugin, type PluginDefinition, type PluginDependency, type PluginKind } from '../../kernel';

export type Journal = string[];

export interface RecordingOptions {
  kind: PluginKind;
  name: string;
  dependencies?: PluginDependency[];
  failOn?: 'setup' | 'start';
  service?: unknown;
  schema?: Record<string, unknown>;
}

export function recordingPlugin(journal: Journal, spec: RecordingOptions): PluginDefinition<any, any> {
  return definePlugin<Record<string, unknown>, unknown>({
    name: spec.name,
    kind: spec.kind,
    version: '1.0.0',
    schema: spec.schema ?? { type: 'object', additionalProperties: true },
    dependencies: spec.dependencies,
    setup(ctx) {
      journal.push(`setup:${spec.name}`);
      for (const dependency of spec.dependencies ?? []) {
        if (!dependency.optional)
          journal.push(`saw:${spec.name}<-${(ctx.services.get(dependency.kind) as unknown as { name: string }).name}`);
      }
      if (spec.failOn === 'setup') throw new Error(`${spec.name} cannot set up`);
      return {
        service: spec.service ?? { name: spec.name, addresses: () => [], unixSocketPath: () => undefined },
        start() {
          journal.push(`start:${spec.name}`);
          if (spec.failOn === 'start') throw new Error(`${spec.name} cannot bind its port`);
        },
        drain() {
          journal.push(`drain:${spec.name}`);
        },
        stop() {
          journal.push(`stop:${spec.name}`);
        },
      };
    },
  });
}

/** The four required kinds, with the usual dependency shape (transport needs registry/router/auth). */
export function requiredSet(journal: Journal, overrides: Partial<Record<PluginKind, Partial<RecordingOptions>>> = {}) {
  return [
    recordingPlugin(journal, {
      kind: 'transport',
      name: 'transport-x',
      dependencies: [{ kind: 'router' }, { kind: 'registry' }, { kind: 'auth' }],
      ...overrides.transport,
    }),
    recordingPlugin(journal, { kind: 'router', name: 'router-x', dependencies: [{ kind: 'registry' }], ...overrides.router }),
    recordingPlugin(journal, { kind: 'auth', name: 'auth-x', ...overrides.auth }),
    recordingPlugin(journal, { kind: 'registry', name: 'registry-x', ...overrides.registry }),
  ];
}
