import { describe, expect, it } from 'vitest';
import { normalisePhone } from '../../src/core/phone.js';

describe('normalisePhone', () => {
  it.each([
    ['+49 171 234-5678', '+491712345678'],
    ['0049 (171) 234.56.78', '+491712345678'],
    ['0171/2345678', '+491712345678'],
    ['+1 (555) 010-9999', '+15550109999'],
    [' 201 ', '201'],
  ])('turns %s into %s', (raw, expected) => {
    expect(normalisePhone(raw, '49')).toBe(expected);
  });

  it('uses the configured country code for a leading 0', () => {
    expect(normalisePhone('020 7946 0018', '44')).toBe('+442079460018');
  });

  it.each([[''], ['anonymous'], ['+'], ['00'], ['12ab'], [null], [undefined]])('returns null for %s', (raw) => {
    expect(normalisePhone(raw, '49')).toBeNull();
  });
});
