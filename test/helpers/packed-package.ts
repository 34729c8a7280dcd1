/**
 * The package as npm users get it: a copy of this checkout (without node_modules, dist or git)
 * runs `npm pack`, whose `prepack` builds it, and the tarball is installed with `npm install`
 * into a fresh temp project, like `npm install openclaw-gateway` would. Slow (a full build and an
 * install), so a test file does it once in `beforeAll`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp-dir';

export const repoRoot = path.resolve(__dirname, '../..');

/** What a checkout needs to build and pack; everything else stays behind. */
const CHECKOUT_ENTRIES = [
  'package.json',
  'package-lock.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'index.ts',
  'kernel',
  'plugins',
  'support',
  'proto',
  'sdk',
  'config',
  'bin',
  'examples',
  'docs',
];

export interface CommandResult {
  code: number | null;
  output: string;
}

/**
 * The environment of an operator's shell: without the `npm_*` variables of the `npm test` that runs
 * us (npm_config_local_prefix would point npm and npx at this repository) and without the switch
 * that makes the CLI run from source.
 */
export function outsiderEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { FORCE_COLOR: '0' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'OPENCLAW_FROM_SOURCE' && key !== 'INIT_CWD') env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion (asynchronously, so jest's timers keep running). */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: outsiderEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function mustRun(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${options.cwd} (exit ${result.code}):\n${result.output}`);
  return result.output;
}

/** A copy of this checkout sharing its node_modules (the build needs tsc and the types). */
export function checkoutCopy(): string {
  const dir = tempDir('ocgw-checkout-');
  for (const entry of CHECKOUT_ENTRIES) {
    fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|dist|data)([\\/]|$)/.test(path.relative(repoRoot, source)),
    });
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** `npm pack` in `dir` (running its prepack) into an empty `destination`; returns the tarball's path. */
export async function npmPack(dir: string, destination: string): Promise<string> {
  const before = new Set(fs.readdirSync(destination));
  await mustRun('npm', ['pack', '--pack-destination', destination, '--loglevel=error'], { cwd: dir });
  const tarball = fs.readdirSync(destination).find((name) => name.endsWith('.tgz') && !before.has(name));
  if (!tarball) throw new Error(`npm pack in ${dir} wrote no tarball to ${destination}`);
  return path.join(destination, tarball);
}

/** The files a tarball holds (`tar -tzf`), without the leading `package/`. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const output = await mustRun('tar', ['-tzf', tarball], { cwd: path.dirname(tarball) });
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^package\//, ''));
}

/** A fresh project with `packages` (tarballs or names) installed from the npm registry and cache. */
export async function installProject(packages: string[]): Promise<string> {
  const dir = fs.realpathSync(tempDir('ocgw-project-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-gateway', version: '1.0.0', private: true }, null, 2));
  await mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packages], { cwd: dir });
  return dir;
}
