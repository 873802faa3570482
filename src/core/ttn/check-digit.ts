import luhn from 'luhn';

/**
 * A check-digit algorithm: one trailing digit that lets a TTN be verified
 * locally (by the IVR, the mail parser) before any lookup.
 */
export interface CheckDigitAlgorithm {
  /** Name used in settings, e.g. `luhn`. */
  readonly name: string;
  /** The digit to append to `payload` (digits only). */
  compute(payload: string): string;
  /** True when the last digit of `digits` is the right check digit for the rest. */
  validate(digits: string): boolean;
}

const DIGITS = /^\d+$/;

function splitLast(digits: string): [string, string] | null {
  if (digits.length < 2 || !DIGITS.test(digits)) return null;
  return [digits.slice(0, -1), digits.slice(-1)];
}

/** Luhn (mod 10): catches every single-digit error and most adjacent swaps. */
export const luhnCheckDigit: CheckDigitAlgorithm = {
  name: 'luhn',
  compute(payload) {
    assertDigits(payload);
    let sum = 0;
    // Walking from the right, the digit next to the (future) check digit is doubled.
    for (let i = payload.length - 1, double = true; i >= 0; i--, double = !double) {
      let d = payload.charCodeAt(i) - 48;
      if (double) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return String((10 - (sum % 10)) % 10);
  },
  validate(digits) {
    // Validation goes through the well-used `luhn` package, as a second opinion on compute().
    return splitLast(digits) !== null && luhn.validate(digits);
  },
};

// Damm's quasigroup of order 10 (weakly totally anti-symmetric), from Damm (2004).
const DAMM_TABLE = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
] as const;

function dammInterim(digits: string): number {
  let interim = 0;
  for (let i = 0; i < digits.length; i++) {
    interim = DAMM_TABLE[interim]![digits.charCodeAt(i) - 48]!;
  }
  return interim;
}

/** Damm: catches every single-digit error and every adjacent transposition. */
export const dammCheckDigit: CheckDigitAlgorithm = {
  name: 'damm',
  compute(payload) {
    assertDigits(payload);
    return String(dammInterim(payload));
  },
  validate(digits) {
    return splitLast(digits) !== null && dammInterim(digits) === 0;
  },
};

/**
 * The check digit of Znuny/OTRS's DateChecksum generator: weights 1,2,1,2,…
 * from the left, products summed as they are (no digit sum), `10 - sum % 10`,
 * and 1 where that gives 10.
 */
export const otrsCheckDigit: CheckDigitAlgorithm = {
  name: 'otrs',
  compute(payload) {
    assertDigits(payload);
    let sum = 0;
    for (let i = 0; i < payload.length; i++) {
      sum += (payload.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 2);
    }
    const c = 10 - (sum % 10);
    return String(c === 10 ? 1 : c);
  },
  validate(digits) {
    const parts = splitLast(digits);
    return parts !== null && otrsCheckDigit.compute(parts[0]) === parts[1];
  },
};

/** Every built-in check-digit algorithm by name. */
export const checkDigitAlgorithms: Readonly<Record<string, CheckDigitAlgorithm>> = {
  luhn: luhnCheckDigit,
  damm: dammCheckDigit,
  otrs: otrsCheckDigit,
};

function assertDigits(payload: string): void {
  if (!DIGITS.test(payload)) throw new TypeError(`check digit payload must be digits only, got "${payload}"`);
}
