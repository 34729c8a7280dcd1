import type { Command } from 'commander';
import { Gateway, type LogLevel } from '../../kernel';
import { reportFailure, validateFromFlags, type ConfigFlags } from './config-source';

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
/** After a stop or a failed start, how long leaked handles (a plugin's socket, timer, child) may hold the process. */
const EXIT_GRACE_MS = 2000;

/**
 * Once the gateway is stopped or its start failed, nothing may keep the process alive: a handle a
 * plugin leaked (or a start still stuck in a system call) would otherwise leave a daemon that
 * logged "stopped" running forever. Unref'd, so a clean exit is immediate.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0), EXIT_GRACE_MS).unref();
}

export function register(program: Command): void {
  program
    .command('start')
    .description('start the gateway (config from -c, the working directory, or the embedded defaults)')
    .option('-c, --config <file>', 'config file')
    .option('--defaults', 'ignore any config file and use the embedded defaults')
    .option('--log-level <level>', 'override the configured log level')
    .action(async (flags: ConfigFlags & { logLevel?: LogLevel }) => {
      let gateway: Gateway;
      try {
        gateway = new Gateway(await validateFromFlags(flags), { logLevel: flags.logLevel });
      } catch (error) {
        process.exitCode = reportFailure(error);
        return;
      }
      const stopped = new Promise<void>((resolve) => gateway.hooks.stopped.tap('cli', () => resolve()));
      // A daemon runs until it is stopped, even when its plugins hold no open handle (an in-process
      // transport, a plugin waiting on hooks): without this Node would exit as soon as the event
      // loop empties, mid-drain or before any signal arrives.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      // Armed by the stop itself, not after start() returns: a signal during a start that never
      // finishes must still end the process.
      void stopped.then(() => {
        clearInterval(keepAlive);
        exitSoon();
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          // A second Ctrl-C means "now": skip the drain.
          gateway.logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
          process.exit(130);
        }
        if (gateway.stage !== 'ready') gateway.logger.warn({ signal, stage: gateway.stage }, 'start interrupted by a signal');
        void gateway.stop(`signal ${signal}`);
      };
      for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
      try {
        await gateway.start();
      } catch (error) {
        if (signals > 0) {
          // Stopped on request before it was ready: the stop releases what had started.
          await stopped;
          for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
          process.exitCode = 0;
          return;
        }
        for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
        clearInterval(keepAlive);
        process.exitCode = reportFailure(error);
        exitSoon();
        return;
      }
      const addresses = gateway.transports().flatMap((t) => t.addresses());
      gateway.logger.info({ addresses, config: gateway.config.file }, `listening on ${addresses.join(', ') || '(no transports)'}`);
      await stopped;
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
      process.exitCode = 0;
    });
}
