/** `--agent` / `--service` of `send` and `request`: exactly one, checked before anything is sent. */
import type { Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AdminCallError } from './admin-client';

export interface DestinationFlags {
  agent?: string;
  service?: string;
  versionRange?: string;
}

export function destinationOf(command: string, flags: DestinationFlags): Partial<Message> {
  if ((flags.agent === undefined) === (flags.service === undefined)) {
    throw new AdminCallError(`${command}: give exactly one of --agent <agentId> or --service <name>`, 3);
  }
  if (flags.agent !== undefined) {
    if (flags.versionRange !== undefined) throw new AdminCallError(`${command}: --version-range narrows --service, not --agent`, 3);
    return { agentId: flags.agent };
  }
  return { service: flags.service, versionRange: flags.versionRange ?? '' };
}
