import type { Command } from 'commander';
import type { GatewayStatusResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { addAdminOptions, callAdmin, formatDuration, reportAdminFailure, type AdminFlags } from './admin-client';
import { formatTable } from './plugin-table';

export function register(program: Command): void {
  addAdminOptions(
    program
      .command('status')
      .description('show a running gateway: id, version, stage, uptime, agents, addresses and plugins (AdminService.GatewayStatus)'),
  ).action(async (flags: AdminFlags) => {
    try {
      const status = await callAdmin<GatewayStatusResult>(flags, 'gatewayStatus', {});
      if (flags.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      console.log(formatStatus(status));
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}

export function formatStatus(status: GatewayStatusResult): string {
  const summary = formatTable(
    ['GATEWAY', 'VERSION', 'STAGE', 'UPTIME', 'AGENTS'],
    [[status.gatewayId, status.version, status.stage, formatDuration(status.uptimeMs), String(status.agents)]],
  );
  const addresses = formatTable(
    ['ADDRESS'],
    status.addresses.map((address) => [address]),
  );
  const plugins = formatTable(
    ['PLUGIN', 'KIND', 'VERSION'],
    status.plugins.map((plugin) => [plugin.name, plugin.kind, plugin.version]),
  );
  return [summary, addresses, plugins].join('\n\n');
}
