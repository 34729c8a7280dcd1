/**
 * # sandbox-bubblewrap
 *
 * Runs each managed agent in its own bubblewrap sandbox: user, pid, ipc, uts, mount (and, unless
 * the profile grants network, net) namespaces; the runtime bound read-only (the `runtimePaths` and
 * the prefix of the gateway's own node); the profile's paths bound read-only / read-write; a private
 * scratch dir mounted at /tmp and removed when the agent exits; `--die-with-parent` and
 * `--new-session`; no nested user namespaces (`--disable-userns`, bubblewrap >= 0.8); a cleared
 * environment with only allow-listed variables; rlimits (memory as RLIMIT_DATA, CPU time, open
 * files) through prlimit(1). Needs Debian's `bubblewrap`.
 *
 * The gateway's Unix socket (`SpawnSpec.gatewaySocket`) is bound at `/run/openclaw/gateway.sock`
 * inside, named by `OPENCLAW_GATEWAY_SOCKET`; the host path in any of the agent's variables (e.g.
 * `OPENCLAW_TARGET=unix:<host path>`) is rewritten to it, so an agent without network still reaches
 * the gateway. A profile with `network: false` and no gateway socket is refused.
 *
 * Checks: at start it runs a probe sandbox and compares its /proc/self/ns/* ids with the gateway's;
 * when a namespace was not created the plugin refuses to start (GW_FAILED_PRECONDITION naming the
 * namespaces, reported by the kernel as GW_PLUGIN_START_FAILED). Every agent is checked the same way
 * from the host before it is handed to the supervisor, and killed when a namespace is shared.
 *
 * `limits.processes` holds whoever runs the gateway: a pids cgroup per sandbox where one can be
 * created (cgroup v2 delegated, or the v1 pids hierarchy; option `pidsCgroup`), and RLIMIT_NPROC set
 * inside the sandbox's user namespace, so the kernel counts that sandbox's processes only. A root
 * gateway (RLIMIT_NPROC does not apply to uid 0) without a pids cgroup refuses such a profile.
 * See docs/sandbox.md.
 *
 * Metrics (label `sandbox` is the plugin name, `reason` one of precondition|setup|namespaces,
 * `outcome` one of exited|failed|signaled):
 * - `openclaw_sandbox_spawned_total{sandbox}`: agents started in a sandbox.
 * - `openclaw_sandbox_spawn_failures_total{sandbox,reason}`: spawns refused or failed.
 * - `openclaw_sandbox_exits_total{sandbox,outcome}`: sandboxes ended (code 0, other code, signal).
 * - `openclaw_sandbox_running{sandbox}`: sandboxes alive now.
 *
 * Default sandbox: this plugin when `findBubblewrap()` finds bwrap, else `sandbox-process`
 * (what examples/demo/agents.ts does).
 *
 * ```ts
 * plugins: [{ use: 'sandbox-bubblewrap', options: { runtimePaths: ['/usr', '/lib', '/lib64', '/bin'] } }]
 * ```
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  definePlugin,
  gatewayError,
  removeStalePidsCgroups,
  resolvePidsCgroupOption,
  sandboxMetrics,
  type SandboxedProcess,
  type SandboxService,
} from '../../kernel';
import { spawnInBubblewrap, type BubblewrapSettings, type SpawnFailure } from './bubblewrap-spawner';
import { isolationFlags, runtimeMounts } from './bwrap-arguments';
import { probeNamespaces } from './namespace-check';
import { executableIdentity } from './process-tree';
import { schema, type BubblewrapOptions } from './schema';

/** Absolute path of an executable (PATH lookup), or undefined when it is not installed. */
function commandPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$0"', name], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Absolute path of bwrap, or undefined when it is not installed. */
export function findBubblewrap(bwrapPath = 'bwrap'): string | undefined {
  return commandPath(bwrapPath);
}

/** The sandbox plugin to configure by default on this host: bubblewrap when installed. */
export function defaultSandboxPlugin(): 'sandbox-bubblewrap' | 'sandbox-process' {
  return findBubblewrap() ? 'sandbox-bubblewrap' : 'sandbox-process';
}

const LIMITATIONS = [
  'memory, CPU and open files are per-process rlimits (memory as RLIMIT_DATA), not per-sandbox cgroup limits',
  'no seccomp filter: the agent shares the host kernel and may use every system call its user namespace allows',
  'a profile with network: true shares the host network namespace',
  "on the host the agent runs as the gateway's user (root when the gateway is root), mapped to an unprivileged uid inside",
];

export default definePlugin<BubblewrapOptions, SandboxService>({
  name: 'sandbox-bubblewrap',
  kind: 'sandbox',
  version: '0.2.0',
  description: 'Managed agents in bubblewrap namespaces with rlimits.',
  schema,
  setup(ctx) {
    const bwrap = findBubblewrap(ctx.options.bwrapPath);
    if (!bwrap) {
      throw gatewayError(
        'GW_PLUGIN_SETUP_FAILED',
        `bwrapPath: "${ctx.options.bwrapPath}" was not found; install the bubblewrap package or use sandbox-process`,
        { field: 'bwrapPath' },
      );
    }
    const prlimit = commandPath('prlimit');
    if (!prlimit)
      throw gatewayError('GW_PLUGIN_SETUP_FAILED', 'prlimit (util-linux) was not found; it applies the profile limits', {
        field: 'limits',
      });
    const settings: BubblewrapSettings = {
      bwrap,
      bwrapIdentity: executableIdentity(bwrap),
      runtimePaths: ctx.options.runtimePaths,
      networkPaths: ctx.options.networkPaths,
      uid: ctx.options.sandboxUid,
      gid: ctx.options.sandboxGid,
      scratchRoot: path.resolve(ctx.gateway.dataDir, ctx.options.scratchRoot),
      setupTimeoutMs: ctx.options.setupTimeoutMs,
      disableUserns: !ctx.options.nestedUserNamespaces,
      prlimit,
      prlimitIdentity: executableIdentity(prlimit),
    };
    const limitations = [...LIMITATIONS];
    if (ctx.options.nestedUserNamespaces) limitations.push('nestedUserNamespaces: true: agents may create user namespaces of their own');
    const metrics = sandboxMetrics(ctx.metrics, ctx.name);
    // Sandboxes alive now: one per agent process the supervisor started (bounded by its config),
    // each removed when it exits; what is still here at stop is killed, so none outlives the plugin.
    const live = new Set<SandboxedProcess>();
    const service: SandboxService = {
      isolation: 'namespaces',
      limitations,
      async spawn(spec) {
        try {
          const sandboxed = await spawnInBubblewrap(spec, settings);
          metrics.started(sandboxed.exited);
          live.add(sandboxed);
          void sandboxed.exited.then(() => live.delete(sandboxed));
          return sandboxed;
        } catch (error) {
          const reason = (error as { details?: { reason?: SpawnFailure } }).details?.reason ?? 'setup';
          metrics.failed(reason);
          ctx.logger.warn({ agentId: spec.agentId, err: error, reason }, 'sandbox-bubblewrap: spawn failed');
          throw error;
        }
      },
    };
    return {
      service,
      async stop() {
        if (live.size === 0) return;
        ctx.logger.warn({ sandboxes: live.size }, 'sandbox-bubblewrap: sandboxes still running at stop; killing them');
        const remaining = [...live];
        for (const sandbox of remaining) sandbox.kill();
        await Promise.all(remaining.map((sandbox) => sandbox.exited));
      },
      async start() {
        const cgroups = resolvePidsCgroupOption(ctx.options.pidsCgroup);
        if (cgroups.usable) {
          settings.pidsCgroupParent = cgroups.parent;
          const stale = removeStalePidsCgroups(cgroups.parent);
          ctx.logger.info(
            { cgroup: cgroups.parent, version: cgroups.version, staleRemoved: stale },
            'sandbox-bubblewrap: limits.processes is a per-sandbox pids cgroup (and RLIMIT_NPROC per sandbox user namespace)',
          );
        } else {
          settings.pidsCgroupUnavailable = cgroups.reason;
          const asRoot = process.geteuid?.() === 0;
          ctx.logger[asRoot ? 'warn' : 'info'](
            { why: cgroups.reason },
            asRoot
              ? 'sandbox-bubblewrap: no pids cgroup and the gateway runs as root: agents with limits.processes are refused (RLIMIT_NPROC does not apply to root)'
              : 'sandbox-bubblewrap: no pids cgroup: limits.processes is RLIMIT_NPROC, counted per sandbox user namespace',
          );
        }
        ctx.logger.info({ limitations }, 'sandbox-bubblewrap: what the sandbox does not isolate');
        if (!ctx.options.verifyNamespaces) {
          ctx.logger.warn('sandbox-bubblewrap: namespace self-check disabled by options');
          return;
        }
        const probeArgs = [...isolationFlags(false, settings), ...runtimeMounts(settings.runtimePaths), '--proc', '/proc', '--dev', '/dev'];
        await probeNamespaces(bwrap, probeArgs, settings.setupTimeoutMs);
        ctx.logger.info({ bwrap }, 'sandbox-bubblewrap: namespace self-check passed (user, pid, net, ipc, uts, mnt)');
      },
    };
  },
});
