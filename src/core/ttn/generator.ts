import type { CheckDigitAlgorithm } from './check-digit.js';

/** What a TTN generator may use; provided by the ticket service. */
export interface TtnGeneratorContext {
  /** The moment the ticket is created (from the service's clock). */
  readonly now: Date;
  /** The site's time zone (config `timeZone`): the day in a date-based number is the day there, on every instance. */
  readonly timeZone: string;
  /** The check-digit algorithm chosen in settings. */
  readonly checkDigit: CheckDigitAlgorithm;
  /** The site's SystemID (OTRS-style numbers embed it). */
  readonly systemId: string;
  /** Atomically increments the named counter and returns the new value; shared by every process on the database. */
  nextCounter(key: string): Promise<number>;
  /** `n` digits from a cryptographically secure source. */
  randomDigits(n: number): string;
}

/**
 * Makes Trouble-Ticket Numbers. A site may supply its own as a module whose
 * default export (or `generator` export) implements this interface.
 */
export interface TtnGenerator {
  /** Name used in settings, e.g. `date-checksum`. */
  readonly name: string;
  /** The usual length of a number, so the IVR can end entry without `#`. */
  length(ctx: Pick<TtnGeneratorContext, 'systemId'>): number;
  /** Set when the format brings its own check digit (OTRS) instead of the one chosen in settings. */
  readonly checkDigit?: CheckDigitAlgorithm;
  /** A new number (digits only, ending in its check digit). Uniqueness is enforced by storage; collisions are retried. */
  next(ctx: TtnGeneratorContext): Promise<string>;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/**
 * `YYYYMMDD` of `date` in `timeZone` — not the process's local zone, which differs between machines
 * (and instances on one database would then count two "days" at once).
 */
export function dateStamp(date: Date, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (!format) dayFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}${parts.month}${parts.day}`;
}

function withCheck(payload: string, algorithm: CheckDigitAlgorithm): string {
  return payload + algorithm.compute(payload);
}

const DAILY_COUNTER_WIDTH = 5;

/** `YYYYMMDD` + daily counter (5 digits, wider after 99999) + check digit: 14 digits. */
export const dateChecksumGenerator: TtnGenerator = {
  name: 'date-checksum',
  length: () => 8 + DAILY_COUNTER_WIDTH + 1,
  async next(ctx) {
    const day = dateStamp(ctx.now, ctx.timeZone);
    const count = await ctx.nextCounter(`date-checksum:${day}`);
    return withCheck(day + String(count).padStart(DAILY_COUNTER_WIDTH, '0'), ctx.checkDigit);
  },
};

/** Random digits of the default length + check digit: reveals no volume. */
export const randomGenerator: TtnGenerator = {
  name: 'random',
  length: () => 14,
  async next(ctx) {
    return withCheck(ctx.randomDigits(13), ctx.checkDigit);
  },
};

/** A plain increasing counter + check digit. */
export const counterGenerator: TtnGenerator = {
  name: 'counter',
  length: () => 6,
  async next(ctx) {
    const count = await ctx.nextCounter('counter');
    return withCheck(String(count).padStart(5, '0'), ctx.checkDigit);
  },
};

/**
 * Znuny/OTRS DateChecksum: `YYYYMMDD` + SystemID + 5-digit daily counter +
 * OTRS's own check digit, so numbers migrated from OTRS stay valid.
 */
export function createOtrsDateChecksumGenerator(otrs: CheckDigitAlgorithm): TtnGenerator {
  return {
    name: 'otrs-date-checksum',
    checkDigit: otrs,
    length: (ctx) => 8 + ctx.systemId.length + 5 + 1,
    async next(ctx) {
      const day = dateStamp(ctx.now, ctx.timeZone);
      const count = await ctx.nextCounter(`otrs-date-checksum:${day}`);
      return withCheck(day + ctx.systemId + String(count).padStart(5, '0'), otrs);
    },
  };
}

/**
 * Checks that a value loaded from a site's module really is a generator,
 * so a broken module is a clear start-up error rather than a failure at the first call.
 */
export function assertTtnGenerator(value: unknown, source: string): TtnGenerator {
  const problems: string[] = [];
  const g = value as Partial<TtnGenerator> | null | undefined;
  if (g === null || typeof g !== 'object') {
    throw new Error(`TTN generator module ${source} must export an object (default export or "generator"), got ${g === null ? 'null' : typeof g}`);
  }
  if (typeof g.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(g.name)) problems.push('"name" must be a lower-case name like "my-generator"');
  if (typeof g.next !== 'function') problems.push('"next(ctx)" must be a function returning the new number');
  if (typeof g.length !== 'function') problems.push('"length(ctx)" must be a function returning the usual length');
  if (g.checkDigit !== undefined && (typeof g.checkDigit.compute !== 'function' || typeof g.checkDigit.validate !== 'function')) {
    problems.push('"checkDigit", when given, must have compute() and validate()');
  }
  if (problems.length > 0) throw new Error(`TTN generator module ${source} is not usable: ${problems.join('; ')}`);
  return g as TtnGenerator;
}
