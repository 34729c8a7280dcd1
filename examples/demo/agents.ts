/**
 * The demo's managed agents, as supervisor options: a planner, two instances of service
 * `demo-worker` (the gateway balances the planner's requests over them) and a logger that prints
 * every topic message and registry event. `config/default.config.ts` adds them to `npm start`
 * (unless `OPENCLAW_DEMO=0`), so a fresh checkout shows agents at work on the dashboard.
 *
 * Agents run in `sandbox-bubblewrap` when `bwrap` is installed (no network: they reach the
 * gateway over its Unix socket, bound into the sandbox), else in `sandbox-process`.
 *
 * The agents' command is the compiled JS (`dist/examples/demo/*.js`, what `npm start` builds) run
 * with this node, or the TypeScript through `node --require tsx/cjs` in a source checkout without
 * a build (or with OPENCLAW_FROM_SOURCE=1, as the tests run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type DemoAgentName = 'planner' | 'worker' | 'logger';

export interface DemoAgentsOptions {
  /** The gateway's Unix socket (agents connect there; it is bound into their sandbox). */
  socketPath: string;
  /** Milliseconds between two planner tasks. Default 1000. */
  taskIntervalMs?: number;
  /** Force a sandbox; by default bubblewrap when `bwrap` is on PATH, else a plain process. */
  sandbox?: 'sandbox-bubblewrap' | 'sandbox-process';
  /** Run the TypeScript sources even when a build exists. Default: OPENCLAW_FROM_SOURCE=1. */
  fromSource?: boolean;
}

export interface DemoAgents {
  /** The sandbox plugin to configure (kind `sandbox`). */
  sandbox: 'sandbox-bubblewrap' | 'sandbox-process';
  /** Options of the `supervisor` plugin. */
  supervisor: { agents: Array<Record<string, unknown>> };
}

/** The repository (package) root: the folder whose package.json is `openclaw-gateway`. */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    // The launcher marks the real root: tsc copies package.json into dist/ (it is imported for the
    // version), and dist/ alone lacks node_modules, which a sandbox binding only the root needs.
    const isRoot = existsSync(path.join(dir, 'bin', 'openclaw-gateway.js'));
    if (isRoot && existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'openclaw-gateway')
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`no openclaw-gateway package.json above ${from}`);
  }
}

export function hasBubblewrap(): boolean {
  try {
    return execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/** `node <file>` for an agent: compiled JS when built (and not told otherwise), else TS through tsx. */
export function agentCommand(
  name: DemoAgentName,
  fromSource = process.env.OPENCLAW_FROM_SOURCE === '1',
): { command: string; args: string[] } {
  const root = packageRoot();
  const compiled = path.join(root, 'dist', 'examples', 'demo', `${name}.js`);
  if (!fromSource && existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  return { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), path.join(root, 'examples', 'demo', `${name}.ts`)] };
}

export function demoAgents(options: DemoAgentsOptions): DemoAgents {
  const root = packageRoot();
  const sandbox = options.sandbox ?? (hasBubblewrap() ? 'sandbox-bubblewrap' : 'sandbox-process');
  const target = `unix:${options.socketPath}`;
  const profile = {
    // The agents' code and its dependencies; nothing else of the host is visible.
    readOnlyPaths: [root],
    readWritePaths: [],
    network: false,
    envAllowList: ['PATH', 'LANG', 'TZ', 'NODE_OPTIONS'],
    limits: { memoryBytes: 1024 * 1024 * 1024, openFiles: 1024 },
  };
  const spec = (id: string, name: DemoAgentName, replicas: number, env: Record<string, string> = {}) => ({
    id,
    ...agentCommand(name, options.fromSource),
    cwd: root,
    version: '1.0.0',
    replicas,
    env: { OPENCLAW_DEMO_TARGET: target, ...env },
    sandbox: profile,
  });
  return {
    sandbox,
    supervisor: {
      agents: [
        spec('demo-worker', 'worker', 2),
        spec('demo-planner', 'planner', 1, { DEMO_TASK_INTERVAL_MS: String(options.taskIntervalMs ?? 1000) }),
        spec('demo-logger', 'logger', 1),
      ],
    },
  };
}
