import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger } from 'pino';

/**
 * The one root logger: JSON on stdout; pretty-printed when stdout is a terminal and pino-pretty is
 * installed (dev). Components take `logger.child({ component })`.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  if (destination === undefined && process.stdout.isTTY && process.env.TURNOUT_LOG_FORMAT !== 'json') {
    try {
      createRequire(import.meta.url).resolve('pino-pretty');
      return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
    } catch {
      // pino-pretty is a dev dependency; JSON it is.
    }
  }
  return pino({ level, base: { pid: process.pid } }, destination ?? pino.destination({ dest: 1, sync: false }));
}
