import pino from 'pino';

/** The logging surface the service uses (pino's). */
export type Logger = pino.Logger;

/** A logger writing JSON lines to stderr (stdout is left to CLI output). */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
