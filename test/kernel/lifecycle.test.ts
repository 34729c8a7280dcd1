import { GatewayError, loadGateway, startGateway } from '../../kernel';
import { recordingPlugin, requiredSet, type Journal } from './recording-plugins';

describe('kernel lifecycle', () => {
  test('hooks fire in stage order and plugins are set up in dependency order', async () => {
    const journal: Journal = [];
    const gateway = await loadGateway({ logLevel: 'silent', config: { plugins: requiredSet(journal) } });
    gateway.hooks.configLoaded.tap('test', () => void journal.push('hook:configLoaded'));
    gateway.hooks.pluginsValidated.tap('test', () => void journal.push('hook:pluginsValidated'));
    gateway.hooks.pluginsInitialized.tapPromise('test', async () => void journal.push('hook:pluginsInitialized'));
    gateway.hooks.started.tapPromise('test', async () => void journal.push('hook:started'));
    gateway.hooks.ready.tap('test', () => void journal.push(`hook:ready(${gateway.stage})`));
    gateway.hooks.draining.tapPromise('test', async () => void journal.push(`hook:draining(${gateway.stage})`));
    gateway.hooks.stopped.tap('test', () => void journal.push('hook:stopped'));

    await gateway.start();
    expect(gateway.stage).toBe('ready');
    await gateway.stop('test over');

    expect(journal).toEqual([
      'hook:configLoaded',
      'hook:pluginsValidated',
      'setup:registry-x',
      'setup:router-x',
      'saw:router-x<-registry-x',
      'setup:auth-x',
      'setup:transport-x',
      'saw:transport-x<-router-x',
      'saw:transport-x<-registry-x',
      'saw:transport-x<-auth-x',
      'hook:pluginsInitialized',
      'start:registry-x',
      'start:router-x',
      'start:auth-x',
      'start:transport-x',
      'hook:started',
      'hook:ready(ready)',
      'hook:draining(draining)',
      // Reverse order: the transport stops accepting before the router and store drain.
      'drain:transport-x',
      'drain:auth-x',
      'drain:router-x',
      'drain:registry-x',
      'stop:transport-x',
      'stop:auth-x',
      'stop:router-x',
      'stop:registry-x',
      'hook:stopped',
    ]);
    expect(gateway.stage).toBe('stopped');
  });

  test('a plugin that throws while starting rolls back the ones already started', async () => {
    const journal: Journal = [];
    const plugins = requiredSet(journal, { transport: { failOn: 'start' } });
    const error = await startGateway({ logLevel: 'silent', config: { plugins } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('GW_PLUGIN_START_FAILED');
    expect((error as GatewayError).message).toContain('transport-x');
    expect((error as GatewayError).message).toContain('cannot bind its port');
    const afterFailure = journal.slice(journal.indexOf('start:transport-x') + 1);
    expect(afterFailure).toEqual(['stop:transport-x', 'stop:auth-x', 'stop:router-x', 'stop:registry-x']);
  });

  test('a plugin that throws during setup stops the ones set up before it', async () => {
    const journal: Journal = [];
    const plugins = requiredSet(journal, { auth: { failOn: 'setup' } });
    const error = (await startGateway({ logLevel: 'silent', config: { plugins } }).catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_PLUGIN_SETUP_FAILED');
    expect(journal.filter((line) => line.startsWith('start:'))).toEqual([]);
    expect(journal.slice(-2)).toEqual(['stop:router-x', 'stop:registry-x']);
  });

  test('plugins only see services they declared', async () => {
    const journal: Journal = [];
    let seen: unknown;
    const nosy = recordingPlugin(journal, { kind: 'monitor', name: 'nosy' });
    const original = nosy.setup;
    nosy.setup = (ctx) => {
      seen = (() => {
        try {
          return ctx.services.get('router');
        } catch (error) {
          return error;
        }
      })();
      return original(ctx);
    };
    const gateway = await startGateway({ logLevel: 'silent', config: { plugins: [...requiredSet(journal), nosy] } });
    await gateway.stop();
    expect(seen).toBeInstanceOf(GatewayError);
    expect((seen as GatewayError).code).toBe('GW_PLUGIN_DEPENDENCY_MISSING');
  });

  test('a drain that overruns the timeout still stops every plugin', async () => {
    const journal: Journal = [];
    const plugins = requiredSet(journal);
    const slowRouter = plugins[1];
    const setup = slowRouter.setup;
    slowRouter.setup = async (ctx) => ({ ...(await setup(ctx)), drain: () => new Promise<void>(() => undefined) });
    const gateway = await startGateway({ logLevel: 'silent', config: { gateway: { drainTimeoutMs: 200 }, plugins } });
    const began = Date.now();
    await gateway.stop();
    expect(Date.now() - began).toBeLessThan(5000);
    expect(journal.filter((line) => line.startsWith('stop:'))).toHaveLength(4);
    expect(gateway.stage).toBe('stopped');
  });
});
