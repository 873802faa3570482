import { describe, expect, it } from 'vitest';
import { dammCheckDigit, luhnCheckDigit, otrsCheckDigit } from '../../src/core/ttn/check-digit.js';

/** A deterministic sample of 13-digit TTN payloads (date + counter shapes and pseudo-random ones). */
function samplePayloads(): string[] {
  const out: string[] = [];
  for (let c = 1; c <= 150; c++) out.push(`20261128${String(c * 613).padStart(5, '0')}`);
  let x = 123456789;
  for (let i = 0; i < 150; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(String(x).padStart(13, '7').slice(0, 13));
  }
  return out;
}

function singleDigitErrors(ttn: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < ttn.length; i++) {
    for (let d = 0; d <= 9; d++) {
      if (String(d) !== ttn[i]) out.push(ttn.slice(0, i) + d + ttn.slice(i + 1));
    }
  }
  return out;
}

function adjacentSwaps(ttn: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < ttn.length; i++) {
    if (ttn[i] !== ttn[i + 1]) out.push(ttn.slice(0, i) + ttn[i + 1] + ttn[i] + ttn.slice(i + 2));
  }
  return out;
}

describe('luhn check digit', () => {
  it('computes the digit the luhn package accepts', () => {
    for (const payload of samplePayloads()) {
      expect(luhnCheckDigit.validate(payload + luhnCheckDigit.compute(payload))).toBe(true);
    }
    expect(luhnCheckDigit.compute('2026112800001')).toBe('9');
    expect(luhnCheckDigit.compute('7992739871')).toBe('3');
  });

  it('catches every single-digit error over the sample', () => {
    let checked = 0;
    for (const payload of samplePayloads()) {
      const ttn = payload + luhnCheckDigit.compute(payload);
      for (const wrong of singleDigitErrors(ttn)) {
        expect(luhnCheckDigit.validate(wrong), wrong).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe(300 * 14 * 9);
  });

  it('misses the 09/90 swap, which is why damm is offered', () => {
    const payload = '2026112800009';
    const ttn = payload + luhnCheckDigit.compute(payload);
    const swapped = ttn.replace('09', '90');
    expect(swapped).not.toBe(ttn);
    expect(luhnCheckDigit.validate(swapped)).toBe(true);
    expect(dammCheckDigit.validate(payload.replace('09', '90') + dammCheckDigit.compute(payload))).toBe(false);
  });

  it('rejects non-digits and too-short input', () => {
    expect(luhnCheckDigit.validate('')).toBe(false);
    expect(luhnCheckDigit.validate('0')).toBe(false);
    expect(luhnCheckDigit.validate('4111-1111-1111-1111')).toBe(false);
    expect(() => luhnCheckDigit.compute('12a')).toThrow(/digits only/);
  });
});

describe('damm check digit', () => {
  it('catches every single-digit error and every adjacent transposition over the sample', () => {
    let checked = 0;
    for (const payload of samplePayloads()) {
      const ttn = payload + dammCheckDigit.compute(payload);
      expect(dammCheckDigit.validate(ttn)).toBe(true);
      for (const wrong of [...singleDigitErrors(ttn), ...adjacentSwaps(ttn)]) {
        expect(dammCheckDigit.validate(wrong), wrong).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300 * 14 * 9);
  });

  it('matches the published example 572 → 4', () => {
    expect(dammCheckDigit.compute('572')).toBe('4');
    expect(dammCheckDigit.validate('5724')).toBe(true);
  });
});

describe('otrs check digit', () => {
  it.each([
    ['201601011000001', '2016010110000019'],
    ['201601011000002', '2016010110000028'],
    ['201612121000001', '2016121210000013'],
  ])('turns %s into %s', (payload, full) => {
    expect(payload + otrsCheckDigit.compute(payload)).toBe(full);
    expect(otrsCheckDigit.validate(full)).toBe(true);
  });

  it('uses 1 where the formula gives 10', () => {
    // 5 → weights 1: sum 5 → 10 - 5 = 5; "55": 5 + 10 = 15 → 5; "0" → 10 → 1.
    expect(otrsCheckDigit.compute('0')).toBe('1');
    expect(otrsCheckDigit.compute('55')).toBe('5');
  });
});
