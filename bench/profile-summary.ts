/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top]` — the functions with the most self time
 * in a V8 CPU profile (from `npm run bench -- --profile`, which profiles the gateway process),
 * with their share of all samples, plus the share per source folder (plugins/x, node_modules/y).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string): string {
  if (!url) return '(native / gc / idle)';
  const file = url.replace(/^file:\/\//, '');
  const modules = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return `node_modules/${modules[1]}`;
  if (file.startsWith('node:')) return file;
  const relative = path.relative(process.cwd(), file);
  const parts = relative.split(path.sep);
  return parts[0] === 'plugins' || parts[0] === 'proto' ? parts.slice(0, 2).join('/') : parts[0];
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const total = [...selfMicros.values()].reduce((sum, micros) => sum + micros, 0);

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${path.relative(process.cwd(), frame.url.replace(/^file:\/\//, ''))}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const group = frame.functionName === '(idle)' ? '(idle)' : area(frame.url);
    byArea.set(group, (byArea.get(group) ?? 0) + micros);
  }
  const percent = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by area:`);
  for (const [group, micros] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${percent(micros)}  ${group}`);
  console.log('\nself time by function:');
  for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) {
    console.log(`  ${percent(micros)}  ${key}`);
  }
}

main();
