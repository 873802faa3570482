import type { CheckDigitAlgorithm } from './check-digit.js';
import { luhnCheckDigit } from './check-digit.js';

/** Validates TTNs against the check-digit algorithms a site has used (old numbers stay valid after a switch). */
export interface TtnChecker {
  /** True for digits only, at least 2 long, whose check digit is right under one of the accepted algorithms. */
  isValidTtn(digits: string): boolean;
  /** Numbers after `hook` (e.g. `Ticket#`) in `text`, in order, without duplicates, only those whose check digit is right. */
  findTtnInText(text: string, hook?: string): string[];
}

const MAX_TTN_LENGTH = 32;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A checker accepting any of `algorithms` (at least one). */
export function createTtnChecker(algorithms: readonly CheckDigitAlgorithm[]): TtnChecker {
  if (algorithms.length === 0) throw new Error('at least one check-digit algorithm is needed');
  const isValidTtn = (digits: string): boolean =>
    typeof digits === 'string' && digits.length <= MAX_TTN_LENGTH && /^\d{2,}$/.test(digits) && algorithms.some((a) => a.validate(digits));
  return {
    isValidTtn,
    findTtnInText(text, hook = 'Ticket#') {
      // `Ticket#123`, `Ticket# 123`, `ticket#: 123`, `[Ticket#123]`; the number must not run on into more digits.
      const pattern = new RegExp(`${escapeRegExp(hook)}\\s*:?\\s*(\\d{2,${MAX_TTN_LENGTH}})(?!\\d)`, 'gi');
      const found: string[] = [];
      for (const match of text.matchAll(pattern)) {
        const digits = match[1]!;
        if (isValidTtn(digits) && !found.includes(digits)) found.push(digits);
      }
      return found;
    },
  };
}

const defaultChecker = createTtnChecker([luhnCheckDigit]);

/** {@link TtnChecker.isValidTtn} with the default (Luhn) check digit. */
export const isValidTtn = defaultChecker.isValidTtn;
/** {@link TtnChecker.findTtnInText} with the default (Luhn) check digit. */
export const findTtnInText = defaultChecker.findTtnInText;
