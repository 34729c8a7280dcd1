import fs from 'node:fs';
import path from 'node:path';
import { createHooks } from '../../kernel';

// The hook reference lives in the doc comment of kernel/hooks.ts; this keeps it from drifting.
test('every declared hook is documented in the hook reference table, and nothing else is', () => {
  const source = fs.readFileSync(path.resolve(__dirname, '../../kernel/hooks.ts'), 'utf8');
  const documented = [...source.matchAll(/^ \* \| (\w+) \| /gm)].map((match) => match[1]).filter((name) => name !== 'hook');
  expect(documented.sort()).toEqual(Object.keys(createHooks()).sort());
});
