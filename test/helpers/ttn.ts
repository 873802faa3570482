import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';

/** The right TTN with its last digit off by one: a wrong check digit. */
export const mistyped = (ttn: string): string => ttn.slice(0, -1) + String((Number(ttn.at(-1)) + 1) % 10);

/** A TTN with a right (Luhn) check digit that no ticket has: from a day long past. */
export function unknownTtn(): string {
  const payload = `2000010100${String(Math.floor(Math.random() * 900) + 100)}`;
  return payload + luhnCheckDigit.compute(payload);
}
