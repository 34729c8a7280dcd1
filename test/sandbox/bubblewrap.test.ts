import { existsSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import bubblewrap from '../../plugins/sandbox-bubblewrap';
import { schema } from '../../plugins/sandbox-bubblewrap/schema';
import type { BubblewrapOptions } from '../../plugins/sandbox-bubblewrap/schema';
import type { SandboxProfile, SandboxService } from '../../kernel';
import { outputOf, setUpPlugin } from './plugin-context';

function defaults(): BubblewrapOptions {
  const options: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) options[key] = structuredClone((prop as { default: unknown }).default);
  return options as unknown as BubblewrapOptions;
}

const profile = (extra: Partial<SandboxProfile> = {}): SandboxProfile => ({
  readOnlyPaths: [],
  readWritePaths: [],
  network: false,
  envAllowList: ['PATH'],
  limits: {},
  ...extra,
});

describe('sandbox-bubblewrap', () => {
  let sandbox: SandboxService;
  let stop: () => Promise<void>;
  let hostDir: string;
  let socketPath: string;
  let socketServer: net.Server;

  beforeAll(async () => {
    const plugin = await setUpPlugin(bubblewrap, defaults());
    sandbox = plugin.service;
    stop = plugin.stop;
    hostDir = mkdtempSync(path.join(os.tmpdir(), 'oc-host-'));
    socketPath = path.join(hostDir, 'gw.sock');
    socketServer = net.createServer((socket) => socket.end('hello from gateway\n'));
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => socketServer.close(resolve));
    await stop();
  });

  const node = (agentId: string, code: string, extra: Partial<SandboxProfile> = {}, env: Record<string, string> = {}) =>
    sandbox.spawn({ agentId, command: process.execPath, args: ['-e', code], env, profile: profile(extra), gatewaySocket: socketPath });

  it('runs the agent in namespaces of its own, as the sandbox user, with only allow-listed env', async () => {
    process.env.OC_SECRET_TOKEN = 'must-not-leak';
    const sandboxed = await node('ns', `setTimeout(() => console.log(JSON.stringify({ uid: process.getuid(), env: process.env })), 300)`, {}, { GIVEN: 'yes' });
    const [agentPid] = sandboxed.agentPids();
    expect(agentPid).toBeGreaterThan(0);
    for (const ns of ['user', 'pid', 'net', 'ipc', 'uts', 'mnt']) {
      expect(readlinkSync(`/proc/${agentPid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    }
    const out = await outputOf(sandboxed);
    expect(out.code).toBe(0);
    const seen = JSON.parse(out.stdout) as { uid: number; env: Record<string, string> };
    expect(seen.uid).toBe(65534);
    expect(seen.env.GIVEN).toBe('yes');
    expect(seen.env.PATH).toBe(process.env.PATH);
    expect(seen.env.OC_SECRET_TOKEN).toBeUndefined();
    expect(seen.env.TMPDIR).toBe('/tmp');
  });

  it('cannot read a host file outside its allow-list but reads the allowed one', async () => {
    const secret = path.join(hostDir, 'secret.txt');
    writeFileSync(secret, 'top secret');
    const allowedDir = mkdtempSync(path.join(os.tmpdir(), 'oc-allowed-'));
    writeFileSync(path.join(allowedDir, 'data.txt'), 'shared data');
    const read = (file: string) => `try { console.log(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')) } catch (e) { console.log('ERR ' + e.code) }`;
    const denied = await outputOf(await node('fs1', read(secret), { readOnlyPaths: [allowedDir] }));
    expect(denied.stdout.trim()).toBe('ERR ENOENT');
    const allowed = await outputOf(await node('fs2', read(path.join(allowedDir, 'data.txt')), { readOnlyPaths: [allowedDir] }));
    expect(allowed.stdout.trim()).toBe('shared data');
    const write = `try { require('fs').writeFileSync(${JSON.stringify(path.join(allowedDir, 'x'))}, 'x'); console.log('wrote') } catch (e) { console.log('ERR ' + e.code) }`;
    const readOnly = await outputOf(await node('fs3', write, { readOnlyPaths: [allowedDir] }));
    expect(readOnly.stdout.trim()).toBe('ERR EROFS');
  });

  it('has no network when the profile denies it, yet reaches the gateway over the bound Unix socket', async () => {
    const tcp = net.createServer((socket) => socket.end('tcp ok\n'));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as net.AddressInfo).port;
    const connect = (target: string) => `
      const s = require('net').connect(${target});
      s.on('data', (d) => { console.log('GOT ' + d.toString().trim()); s.destroy(); });
      s.on('error', (e) => console.log('ERR ' + e.code));`;
    try {
      const offline = await outputOf(await node('net1', connect(`${port}, '127.0.0.1'`)));
      expect(offline.stdout.trim()).toBe('ERR ECONNREFUSED');
      const viaSocket = await outputOf(await node('net2', connect('process.env.OPENCLAW_GATEWAY_SOCKET')));
      expect(viaSocket.stdout.trim()).toBe('GOT hello from gateway');
      const online = await outputOf(await node('net3', connect(`${port}, '127.0.0.1'`), { network: true }));
      expect(online.stdout.trim()).toBe('GOT tcp ok');
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('gives a private writable scratch dir at /tmp and removes it after exit', async () => {
    const sandboxed = await node('scratch', `require('fs').writeFileSync('/tmp/note', 'n'); console.log(require('fs').readdirSync('/tmp').join(','))`);
    expect(sandboxed.scratchDir && existsSync(sandboxed.scratchDir)).toBe(true);
    const out = await outputOf(sandboxed);
    expect(out.stdout.trim()).toBe('note');
    expect(existsSync(sandboxed.scratchDir!)).toBe(false);
  });

  it('stops a memory hog at its memory limit', async () => {
    const hog = `const keep = []; for (let i = 0; i < 200; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); console.log('survived')`;
    const out = await outputOf(await node('hog', hog, { limits: { memoryBytes: 256 * 1024 * 1024 } }));
    expect(out.stdout).not.toContain('survived');
    expect(out.code === 0 && out.signal === null).toBe(false);
    const fine = await outputOf(await node('small', `console.log(Buffer.alloc(1024 * 1024).length)`, { limits: { memoryBytes: 256 * 1024 * 1024, openFiles: 64 } }));
    expect(fine.stdout.trim()).toBe(String(1024 * 1024));
  });

  it('applies the open-files limit', async () => {
    const out = await outputOf(await node('nofile', `const fs = require('fs'); let n = 0; try { for (;;) { fs.openSync('/proc/self/status', 'r'); n++; } } catch (e) { console.log(e.code) }`, { limits: { openFiles: 40 } }));
    expect(out.stdout.trim()).toBe('EMFILE');
  });

  it('kill() tears the whole sandbox down and signal() reaches the agent itself', async () => {
    const sandboxed = await node('sig', `process.on('SIGTERM', () => { console.log('graceful'); process.exit(0) }); setInterval(() => {}, 1000); console.log('ready')`);
    let stdout = '';
    sandboxed.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    while (!stdout.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    const pids = sandboxed.agentPids();
    sandboxed.signal('SIGTERM');
    await sandboxed.exited;
    expect(stdout).toContain('graceful');
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);

    const stubborn = await node('kill', `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`);
    const stubbornPids = stubborn.agentPids();
    stubborn.kill();
    const exit = await stubborn.exited;
    expect(exit.signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of stubbornPids) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('refuses a profile without network when no gateway socket exists', async () => {
    await expect(sandbox.spawn({ agentId: 'nosock', command: process.execPath, args: ['-e', '1'], env: {}, profile: profile() })).rejects.toMatchObject({
      code: 'GW_FAILED_PRECONDITION',
      field: 'sandbox.network',
    });
  });
});
