import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { startGateway, definePlugin } from '/work/main/kernel';
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0', '3.0.0-rc.1'];
async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-'));
  const auth = definePlugin<any, any>({ name: 'a', kind: 'auth', version: '0.0.0', schema: {}, setup: () => ({ service: {} }) });
  const tr = definePlugin<any, any>({ name: 't', kind: 'transport', version: '0.0.0', schema: {}, setup: () => ({ service: { addresses: () => [] } }) });
  const router = definePlugin<any, any>({ name: 'r', kind: 'router', version: '0.0.0', schema: {}, setup: () => ({ service: {} }) });
  const gw = await startGateway({ logLevel: 'silent', cwd: dataDir, config: { gateway: { dataDir, processMetrics: false }, plugins: ['registry-memory', router, auth, tr] } });
  const reg = gw.service('registry')!;
  for (let i = 0; i < 10000; i++) await reg.register({ agentId: `a${i}`, service: `svc-${i % 20}`, version: VERSIONS[(i >> 2) % 6]!, tags: { zone: ['eu','us','ap'][i%3]!, shard: String(i%16) }, capabilities: i%2===0?['summarize','gpu']:['summarize'], leaseTtlMs: 0 }, {});
  const shapes: Record<string, any> = {
    range: { versionRange: '>=1 <3' },
    rangeRoutable: { versionRange: '>=1 <3', routableOnly: true },
    tags: { versionRange: '>=1 <3', tags: { zone: 'eu' } },
    caps: { versionRange: '>=1 <3', capabilities: ['gpu'] },
    all: { versionRange: '>=1 <3', tags: { zone: 'eu' }, capabilities: ['gpu'], routableOnly: true },
  };
  for (const [name, q] of Object.entries(shapes)) {
    for (let n = 0; n < 2000; n++) reg.discover({ service: `svc-${n % 20}`, ...q });
    const t = process.hrtime.bigint(); let c = 0;
    for (let n = 0; n < 20000; n++) c += reg.discover({ service: `svc-${n % 20}`, ...q }).length;
    console.log(name, (Number(process.hrtime.bigint() - t) / 1e6 / 20000).toFixed(4), 'ms avg', c / 20000);
  }
  await gw.stop();
}
main();
