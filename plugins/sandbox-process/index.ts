/**
 * # sandbox-process
 *
 * Runs managed agents as plain child processes, for hosts without bubblewrap. It isolates nothing:
 * the agent sees the host's files, network, processes and IPC as the gateway's user. What it does:
 * an environment allow-list (the same `sandboxEnvironment` as bubblewrap), a private scratch dir
 * (`TMPDIR`, removed after exit), rlimits through prlimit(1), death with the gateway
 * (`setpriv --pdeathsig KILL`, even when the gateway is SIGKILLed) and a process group per agent, so
 * signal() and kill() reach what the agent forked and leftovers are killed when the agent exits.
 * `OPENCLAW_GATEWAY_SOCKET` names the gateway's Unix socket when there is one.
 *
 * It logs what it does not isolate (`limitations`) as a warning at start, so nobody mistakes it for
 * a sandbox. setpriv and prlimit come with util-linux; without them it still runs agents and says
 * what is lost (no death with the gateway / no limits) in the same warning.
 *
 * Metrics: the same as sandbox-bubblewrap (`openclaw_sandbox_spawned_total{sandbox}`,
 * `openclaw_sandbox_spawn_failures_total{sandbox,reason}`, `openclaw_sandbox_exits_total{sandbox,outcome}`,
 * `openclaw_sandbox_running{sandbox}`), with `sandbox="sandbox-process"`.
 *
 * ```ts
 * plugins: ['sandbox-process', { use: 'supervisor', options: { agents: [...] } }]
 * ```
 */
import path from 'node:path';
import {
  definePlugin,
  removeStalePidsCgroups,
  resolvePidsCgroupOption,
  sandboxMetrics,
  type SandboxedProcess,
  type SandboxService,
} from '../../kernel';
import { commandExists } from './command-exists';
import { spawnPlainProcess, type ProcessSpawnerSettings } from './process-spawner';

import { schema, type ProcessSandboxOptions } from './schema';

const LIMITATIONS = [
  'filesystem: the agent can read and write every file the gateway user can',
  'network: the agent has the host network, whatever its profile says',
  'processes: the agent sees and can signal host processes of the same user',
  'ipc/uts: shared with the host',
  'processes the agent forked outlive a gateway killed with SIGKILL (only the agent has a parent-death signal)',
];

export default definePlugin<ProcessSandboxOptions, SandboxService>({
  name: 'sandbox-process',
  kind: 'sandbox',
  version: '0.2.0',
  description: 'Managed agents as plain child processes (no isolation; rlimits only).',
  schema,
  setup(ctx) {
    const hasSetpriv = commandExists('setpriv');
    const hasPrlimit = commandExists('prlimit');
    const limitations = [...LIMITATIONS];
    if (!hasSetpriv) limitations.push('setpriv (util-linux) not found: agents outlive a gateway killed with SIGKILL');
    if (ctx.options.applyLimits && !hasPrlimit) limitations.push('prlimit (util-linux) not found: profile limits are NOT applied');
    if (!ctx.options.applyLimits) limitations.push('applyLimits: false: profile limits are NOT applied');
    const settings: ProcessSpawnerSettings = {
      scratchRoot: path.resolve(ctx.gateway.dataDir, ctx.options.scratchRoot),
      applyLimits: ctx.options.applyLimits && hasPrlimit,
      deathSignal: hasSetpriv,
    };
    const cgroups = resolvePidsCgroupOption(ctx.options.pidsCgroup);
    if (cgroups.usable) settings.pidsCgroupParent = cgroups.parent;
    else {
      settings.pidsCgroupUnavailable = cgroups.reason;
      limitations.push(
        process.geteuid?.() === 0
          ? `no pids cgroup (${cgroups.reason}) and the gateway runs as root: agents with limits.processes are refused`
          : `no pids cgroup (${cgroups.reason}): limits.processes is RLIMIT_NPROC, counted across every process of the gateway's user`,
      );
    }
    const metrics = sandboxMetrics(ctx.metrics, ctx.name);
    // Sandboxes alive now: one per agent process the supervisor started (bounded by its config),
    // each removed when it exits; what is still here at stop is killed, so none outlives the plugin.
    const live = new Set<SandboxedProcess>();
    const service: SandboxService = {
      isolation: 'none',
      limitations,
      async spawn(spec) {
        try {
          const spawned = await spawnPlainProcess(spec, settings);
          metrics.started(spawned.exited);
          live.add(spawned);
          void spawned.exited.then(() => live.delete(spawned));
          return spawned;
        } catch (error) {
          metrics.failed('setup');
          ctx.logger.warn({ agentId: spec.agentId, err: error }, 'sandbox-process: spawn failed');
          throw error;
        }
      },
    };
    return {
      service,
      async stop() {
        if (live.size === 0) return;
        ctx.logger.warn({ sandboxes: live.size }, 'sandbox-process: sandboxes still running at stop; killing them');
        const remaining = [...live];
        for (const sandbox of remaining) sandbox.kill();
        await Promise.all(remaining.map((sandbox) => sandbox.exited));
      },
      start() {
        if (settings.pidsCgroupParent) removeStalePidsCgroups(settings.pidsCgroupParent);
        ctx.logger.warn({ notIsolated: limitations }, 'sandbox-process: managed agents run WITHOUT isolation');
      },
    };
  },
});
