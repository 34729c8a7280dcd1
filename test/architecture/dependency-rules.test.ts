/**
 * The import rules of docs/architecture.md, checked by dependency-cruiser with the project's own
 * config (.dependency-cruiser.cjs), run as the CLI runs it: over this tree (which must pass), and
 * over a small tree that breaks each rule once (which must fail, naming every broken rule).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');
const depcruise = path.join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    [depcruise, '.', '--config', path.join(repoRoot, '.dependency-cruiser.cjs'), '--output-type', 'err'],
    {
      cwd,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('import rules', () => {
  test('this tree keeps them: the kernel knows no plugin, plugins know only the kernel and support, no circles', () => {
    const { status, output } = cruise(repoRoot);
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  describe('a tree that breaks each rule', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ocgw-depcruise-'));
      const write = (file: string, text: string) => {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
      };
      copyFileSync(path.join(repoRoot, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
      write('kernel/index.ts', "export { BUILTIN } from '../plugins';\n");
      write('plugins/index.ts', "export const BUILTIN = () => require('./router-a');\n");
      write(
        'plugins/router-a/index.ts',
        "import { kernelThing } from '../../kernel/thing';\nimport { b } from '../registry-b';\nexport const a = [kernelThing, b];\n",
      );
      write('plugins/registry-b/index.ts', 'export const b = 1;\n');
      write('kernel/thing.ts', 'export const kernelThing = 1;\n');
      write('support/nats/connection.ts', "import { a } from '../../plugins/router-a';\nexport const c = a;\n");
      write('kernel/circle-one.ts', "import { two } from './circle-two';\nexport const one = () => two;\n");
      write('kernel/circle-two.ts', "import { one } from './circle-one';\nexport const two = () => one;\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('fails and names every broken rule with the offending import', () => {
      const { status, output } = cruise(dir);
      expect(status).not.toBe(0);
      expect(output).toMatch(/kernel-knows-no-caller: kernel\/index\.ts → plugins\/index\.ts/);
      expect(output).toMatch(/plugin-imports-only-kernel-and-support: plugins\/router-a\/index\.ts → plugins\/registry-b\/index\.ts/);
      expect(output).toMatch(/support-imports-only-kernel: support\/nats\/connection\.ts → plugins\/router-a\/index\.ts/);
      expect(output).toMatch(/no-circular: kernel\/circle-one\.ts → /);
      // The kernel → catalogue → plugin → kernel loop of the old built-in lookup is a circle too.
      expect(output).toMatch(/no-circular: (kernel|plugins)\//);
      expect(output).not.toMatch(/plugin-imports-only-kernel-and-support: plugins\/router-a\/index\.ts → kernel\/thing\.ts/);
    });
  });
});
