/**
 * The root logger. Plugins get `logger.child({ plugin })` with their own level, so an operator can
 * turn one plugin up to `debug` without drowning in the others.
 */
import pino, { type Logger } from 'pino';
import type { GatewaySettings, LogLevel } from './config/types';

export type { Logger };

export function createRootLogger(settings: GatewaySettings, overrideLevel?: LogLevel): Logger {
  const level = overrideLevel ?? (process.env.OPENCLAW_LOG_LEVEL as LogLevel | undefined) ?? settings.logLevel ?? 'info';
  const format = settings.logFormat ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level,
    base: { gateway: settings.id },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    // In-process stream rather than a transport worker: no extra thread for a CLI daemon.
    const prettify = require('pino-pretty') as typeof import('pino-pretty');
    const prettyStream = prettify({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
    return pino(options, prettyStream);
  }
  return pino(options);
}
