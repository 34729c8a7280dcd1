/**
 * sandbox-process specifics (the shared behaviour is in contract.test.ts): it says loudly what it
 * does not isolate, and tells the agent where the gateway's socket is.
 */
import plainProcess from '../../plugins/sandbox-process';
import { schema, type ProcessSandboxOptions } from '../../plugins/sandbox-process/schema';
import type { SandboxService } from '../../kernel';
import { outputOf, schemaDefaults, setUpPlugin } from './plugin-context';

describe('sandbox-process', () => {
  it('warns at start, listing what it does not isolate', async () => {
    const plugin = await setUpPlugin<ProcessSandboxOptions, SandboxService>(plainProcess, schemaDefaults(schema));
    try {
      expect(plugin.service.isolation).toBe('none');
      const warning = plugin.logs.find((line) => line.msg.includes('WITHOUT isolation'));
      expect(warning).toMatchObject({ level: 40, notIsolated: plugin.service.limitations });
      expect(plugin.service.limitations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^filesystem/),
          expect.stringMatching(/^network/),
          expect.stringMatching(/^processes/),
        ]),
      );
    } finally {
      await plugin.stop();
    }
  });

  it('says in the same warning that limits are off when told not to apply them', async () => {
    const plugin = await setUpPlugin<ProcessSandboxOptions, SandboxService>(
      plainProcess,
      schemaDefaults<ProcessSandboxOptions>(schema, { applyLimits: false }),
    );
    try {
      expect(plugin.service.limitations).toContain('applyLimits: false: profile limits are NOT applied');
      const hog = `const keep = []; for (let i = 0; i < 40; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); console.log('survived')`;
      const out = await outputOf(
        await plugin.service.spawn({
          agentId: 'unlimited',
          command: process.execPath,
          args: ['-e', hog],
          env: {},
          profile: { readOnlyPaths: [], readWritePaths: [], network: true, envAllowList: [], limits: { memoryBytes: 64 * 1024 * 1024 } },
        }),
      );
      expect(out.stdout.trim()).toBe('survived');
    } finally {
      await plugin.stop();
    }
  });

  it('names the gateway socket in OPENCLAW_GATEWAY_SOCKET (its host path: nothing is remapped)', async () => {
    const plugin = await setUpPlugin<ProcessSandboxOptions, SandboxService>(plainProcess, schemaDefaults(schema));
    try {
      const out = await outputOf(
        await plugin.service.spawn({
          agentId: 'socket',
          command: process.execPath,
          args: ['-e', 'console.log(process.env.OPENCLAW_GATEWAY_SOCKET)'],
          env: {},
          profile: { readOnlyPaths: [], readWritePaths: [], network: false, envAllowList: [], limits: {} },
          gatewaySocket: '/run/example/gateway.sock',
        }),
      );
      expect(out.stdout.trim()).toBe('/run/example/gateway.sock');
    } finally {
      await plugin.stop();
    }
  });
});
