/**
 * `docs/api.md` is generated from gateway.proto's comments by `npm run docs:api` (proto/docs.ts).
 * This fails when someone edits the proto without regenerating, like the proto/gen staleness test.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { API_DOC_FILE, PROTO_FILE, renderApiDocs } from '../../proto/docs';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

describe('docs/api.md', () => {
  test('is exactly what `npm run docs:api` renders from the current proto', () => {
    const committed = readFileSync(API_DOC_FILE, 'utf8');
    if (committed !== renderApiDocs()) throw new Error('docs/api.md is stale: run `npm run docs:api` and commit the result');
  });

  test('documents every RPC, message and enum with the proto comments', () => {
    const docs = readFileSync(API_DOC_FILE, 'utf8');
    const proto = readFileSync(PROTO_FILE, 'utf8');
    for (const [, name] of proto.matchAll(/^\s*rpc (\w+)\(/gm)) expect(docs).toContain(`| \`${name}\` |`);
    for (const [, name] of proto.matchAll(/^message (\w+) \{/gm)) expect(docs).toContain(`### ${name}\n`);
    for (const [, name] of proto.matchAll(/^enum (\w+) \{/gm)) expect(docs).toContain(`### ${name}\n`);
    expect(docs).toContain('| `Subscribe` | [SubscribeRequest](#subscriberequest) | stream [Event](#event) |');
    expect(docs).toContain(
      '| `durable` | 8 | `bool` | At-least-once: stored and synced before SendMessage returns, acked by the receiver. |',
    );
    expect(docs).toContain('| `kind` | 1 | [RegistryEvent.Kind](#registryeventkind) |');
  });

  test('a comment changed in the proto changes the rendered docs (nothing is hand-written)', () => {
    const proto = readFileSync(PROTO_FILE, 'utf8');
    const edited = proto.replace("// Renews an agent's lease.", '// Keeps an agent alive (edited comment).');
    expect(edited).not.toBe(proto);
    expect(renderApiDocs(edited)).toContain(
      '| `Heartbeat` | [HeartbeatRequest](#heartbeatrequest) | [HeartbeatResult](#heartbeatresult) | Keeps an agent alive (edited comment).',
    );
  });

  test('the script run by `npm run docs:api` passes its own --check', async () => {
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    await expect(run(tsx, ['proto/docs.ts', '--check'], { cwd: root, timeout: 60_000 })).resolves.toBeDefined();
  }, 70_000);
});
