import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import bubblewrap from '../../plugins/sandbox-bubblewrap';
import { schema } from '../../plugins/sandbox-bubblewrap/schema';
import type { BubblewrapOptions } from '../../plugins/sandbox-bubblewrap/schema';
import { pidsCgroupSupport, type SandboxProfile, type SandboxService } from '../../kernel';
import { outputOf, schemaDefaults, setUpPlugin, type LogLine } from './plugin-context';

const defaults = () => schemaDefaults<BubblewrapOptions>(schema);

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
  let logs: LogLine[];
  const tempDirs: string[] = [];

  beforeAll(async () => {
    const plugin = await setUpPlugin(bubblewrap, defaults());
    sandbox = plugin.service;
    stop = plugin.stop;
    logs = plugin.logs;
    hostDir = mkdtempSync(path.join(os.tmpdir(), 'oc-host-'));
    tempDirs.push(hostDir);
    socketPath = path.join(hostDir, 'gw.sock');
    socketServer = net.createServer((socket) => socket.end('hello from gateway\n'));
    await new Promise<void>((resolve) => socketServer.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => socketServer.close(resolve));
    await stop();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  const node = (agentId: string, code: string, extra: Partial<SandboxProfile> = {}, env: Record<string, string> = {}) =>
    sandbox.spawn({ agentId, command: process.execPath, args: ['-e', code], env, profile: profile(extra), gatewaySocket: socketPath });

  it('runs the agent in namespaces of its own, as the sandbox user, with only allow-listed env', async () => {
    process.env.OC_SECRET_TOKEN = 'must-not-leak';
    const sandboxed = await node(
      'ns',
      `setTimeout(() => console.log(JSON.stringify({ uid: process.getuid(), env: process.env })), 300)`,
      {},
      { GIVEN: 'yes' },
    );
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
    tempDirs.push(allowedDir);
    writeFileSync(path.join(allowedDir, 'data.txt'), 'shared data');
    const read = (file: string) =>
      `try { console.log(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')) } catch (e) { console.log('ERR ' + e.code) }`;
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
      // A spec naming the socket's host path gets the path inside instead.
      const viaTarget = await outputOf(
        await node('net4', connect(`process.env.OPENCLAW_TARGET.slice(5)`), {}, { OPENCLAW_TARGET: `unix:${socketPath}` }),
      );
      expect(viaTarget.stdout.trim()).toBe('GOT hello from gateway');
      const online = await outputOf(await node('net3', connect(`${port}, '127.0.0.1'`), { network: true }));
      expect(online.stdout.trim()).toBe('GOT tcp ok');
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('gives a private writable scratch dir at /tmp (nothing of the host in it) and removes it after exit', async () => {
    const sandboxed = await node(
      'scratch',
      `require('fs').writeFileSync('/tmp/note', 'n'); console.log(require('fs').readdirSync('/tmp').join(','))`,
    );
    expect(sandboxed.scratchDir && existsSync(sandboxed.scratchDir)).toBe(true);
    const out = await outputOf(sandboxed);
    expect(out.stdout.trim()).toBe('note');
    expect(existsSync(sandboxed.scratchDir!)).toBe(false);
  });

  it('binds readWritePaths writable and shows only the runtime, the profile paths, /tmp, /proc, /dev and the socket', async () => {
    const shared = mkdtempSync(path.join(os.tmpdir(), 'oc-rw-'));
    tempDirs.push(shared);
    const code = `
      const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(path.join(shared, 'from-agent'))}, 'written inside');
      console.log(JSON.stringify({ root: fs.readdirSync('/').sort(), run: fs.readdirSync('/run/openclaw') }));`;
    const out = await outputOf(await node('rw', code, { readWritePaths: [shared] }));
    expect(out.code).toBe(0);
    expect(readFileSync(path.join(shared, 'from-agent'), 'utf8')).toBe('written inside');
    const seen = JSON.parse(out.stdout) as { root: string[]; run: string[] };
    // Top-level entries: those of the runtime paths (and node's prefix), the shared dir's, and the sandbox's own.
    const top = (p: string) => p.split('/')[1];
    const runtime = schema.properties.runtimePaths.default.filter((p) => existsSync(p)).map(top);
    const expected = new Set([...runtime, top(process.execPath), top(shared), 'dev', 'proc', 'run', 'tmp']);
    expect(seen.root).toEqual([...expected].sort());
    expect(seen.run).toEqual(['gateway.sock']);
  });

  it('logs how limits.processes is enforced and what it does not isolate', () => {
    // Either a pids cgroup was found (this host: root with a writable v1 pids hierarchy), or why not.
    const pids = logs.find((line) => line.msg.includes('limits.processes is a per-sandbox pids cgroup'));
    const none = logs.find((line) => line.msg.includes('no pids cgroup'));
    if (pidsCgroupSupport().usable)
      expect(pids).toMatchObject({ cgroup: expect.stringMatching(/^\/sys\/fs\/cgroup\//), version: expect.any(Number) });
    else expect(none).toMatchObject({ why: expect.any(String) });
    expect(logs.find((line) => line.msg.includes('does not isolate'))).toMatchObject({ limitations: sandbox.limitations });
    expect(logs.find((line) => line.msg.includes('namespace self-check passed'))).toBeDefined();
    expect(sandbox.isolation).toBe('namespaces');
  });

  it('refuses a profile without network when no gateway socket exists', async () => {
    await expect(
      sandbox.spawn({ agentId: 'nosock', command: process.execPath, args: ['-e', '1'], env: {}, profile: profile() }),
    ).rejects.toMatchObject({
      code: 'GW_FAILED_PRECONDITION',
      field: 'sandbox.network',
    });
  });
});
