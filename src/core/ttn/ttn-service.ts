import { randomInt } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { CounterStore, SettingsStore } from '../ports.js';
import type { CheckDigitAlgorithm } from './check-digit.js';
import { checkDigitAlgorithms, otrsCheckDigit } from './check-digit.js';
import type { TtnGenerator } from './generator.js';
import { counterGenerator, createOtrsDateChecksumGenerator, dateChecksumGenerator, randomGenerator } from './generator.js';
import type { TtnChecker } from './ttn-text.js';
import { createTtnChecker } from './ttn-text.js';

/** The TTN choices an admin makes; stored in settings under `ttn`. */
export interface TtnSettings {
  generator: string;
  checkDigit: string;
  systemId: string;
  /** Every check-digit algorithm ever used here, so numbers handed out before a switch stay valid. */
  accepted: string[];
}

export const DEFAULT_TTN_SETTINGS: TtnSettings = { generator: 'date-checksum', checkDigit: 'luhn', systemId: '10', accepted: ['luhn'] };

/** Built-in generators, by name. */
export function builtInGenerators(): TtnGenerator[] {
  return [dateChecksumGenerator, randomGenerator, counterGenerator, createOtrsDateChecksumGenerator(otrsCheckDigit)];
}

export interface TtnServiceDeps {
  settings: SettingsStore;
  counters: CounterStore;
  /** Extra generators from site modules, loaded at start. */
  extraGenerators?: TtnGenerator[];
  /** The site's time zone (config `timeZone`), for date-based numbers; default UTC. */
  timeZone?: string;
}

export interface TtnService {
  /** Reads the settings; call once at start (and after another process changed them). */
  load(): Promise<void>;
  /** The current settings. */
  current(): TtnSettings;
  /** Changes generator / check digit for new tickets; old numbers stay valid. */
  configure(change: Partial<Pick<TtnSettings, 'generator' | 'checkDigit' | 'systemId'>>): Promise<TtnSettings>;
  /** A new number from the current generator, checked before it is handed out. */
  next(now: Date): Promise<string>;
  /** Validator for numbers typed by callers or found in mail subjects (synchronous: on the IVR's hot path). */
  checker(): TtnChecker;
  /** The usual length of a new number. */
  usualLength(): number;
  generatorNames(): string[];
  checkDigitNames(): string[];
}

function randomDigits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(randomInt(10));
  return s;
}

/** The TTN scheme in force: which generator and check digit new tickets get, and which numbers are valid. */
export function createTtnService(deps: TtnServiceDeps): TtnService {
  const generators = new Map<string, TtnGenerator>();
  for (const g of [...builtInGenerators(), ...(deps.extraGenerators ?? [])]) {
    if (generators.has(g.name)) throw new Error(`two TTN generators are named "${g.name}"`);
    generators.set(g.name, g);
  }
  const algorithms = new Map<string, CheckDigitAlgorithm>(Object.entries(checkDigitAlgorithms));
  for (const g of generators.values()) if (g.checkDigit) algorithms.set(g.checkDigit.name, g.checkDigit);

  let settings = DEFAULT_TTN_SETTINGS;
  let checker = createTtnChecker([algorithms.get('luhn')!]);

  const generator = (): TtnGenerator => {
    const g = generators.get(settings.generator);
    if (!g) throw new ValidationError(`TTN generator "${settings.generator}" is not known; known: ${[...generators.keys()].join(', ')}`);
    return g;
  };
  const effectiveCheckDigit = (s: TtnSettings): CheckDigitAlgorithm => {
    const g = generators.get(s.generator);
    if (g?.checkDigit) return g.checkDigit;
    const a = algorithms.get(s.checkDigit);
    if (!a) throw new ValidationError(`check-digit algorithm "${s.checkDigit}" is not known; known: ${[...algorithms.keys()].join(', ')}`);
    return a;
  };
  const apply = (s: TtnSettings): void => {
    const accepted = new Set([...s.accepted, effectiveCheckDigit(s).name]);
    settings = { ...s, accepted: [...accepted] };
    checker = createTtnChecker([...accepted].map((name) => algorithms.get(name)).filter((a): a is CheckDigitAlgorithm => a !== undefined));
  };

  return {
    async load() {
      const stored = await deps.settings.get<Partial<TtnSettings>>('ttn');
      apply({ ...DEFAULT_TTN_SETTINGS, ...stored });
      generator();
    },
    current: () => settings,
    async configure(change) {
      const next: TtnSettings = { ...settings, ...change };
      if (!generators.has(next.generator)) throw new ValidationError(`TTN generator "${next.generator}" is not known; known: ${[...generators.keys()].join(', ')}`);
      effectiveCheckDigit(next);
      if (!/^\d{1,6}$/.test(next.systemId)) throw new ValidationError('SystemID must be 1 to 6 digits');
      apply(next);
      await deps.settings.set('ttn', settings);
      return settings;
    },
    async next(now) {
      const g = generator();
      const checkDigit = effectiveCheckDigit(settings);
      const ttn = await g.next({
        now,
        timeZone: deps.timeZone ?? 'UTC',
        checkDigit,
        systemId: settings.systemId,
        nextCounter: (key) => deps.counters.next(key),
        randomDigits,
      });
      if (typeof ttn !== 'string' || !/^\d{2,32}$/.test(ttn) || !checkDigit.validate(ttn)) {
        throw new Error(`TTN generator "${g.name}" produced ${JSON.stringify(ttn)}, which is not digits ending in a valid ${checkDigit.name} check digit`);
      }
      return ttn;
    },
    checker: () => checker,
    usualLength: () => generator().length({ systemId: settings.systemId }),
    generatorNames: () => [...generators.keys()],
    checkDigitNames: () => [...new Set([...Object.keys(checkDigitAlgorithms)])],
  };
}
