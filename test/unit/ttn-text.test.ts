import { describe, expect, it } from 'vitest';
import { findTtnInText, isValidTtn } from '../../src/core/ttn/ttn-text.js';

const GOOD = '20261128000019';
const GOOD2 = '20261128000027';
const WRONG = '20261128000010';

describe('isValidTtn', () => {
  it('accepts a number with the right check digit and refuses others', () => {
    expect(isValidTtn(GOOD)).toBe(true);
    expect(isValidTtn(WRONG)).toBe(false);
    expect(isValidTtn('2026112800001x')).toBe(false);
    expect(isValidTtn('')).toBe(false);
    expect(isValidTtn('9'.repeat(40))).toBe(false);
  });
});

describe('findTtnInText', () => {
  it.each([
    [`[Ticket#${GOOD}] Printer on fire`],
    [`Re: [Ticket#${GOOD}] Printer on fire`],
    [`AW: [ticket# ${GOOD}]`],
    [`Fwd: TICKET#: ${GOOD} more`],
    [`see Ticket#${GOOD}.`],
  ])('finds the number in %s', (text) => {
    expect(findTtnInText(text)).toEqual([GOOD]);
  });

  it('ignores numbers with a wrong check digit and numbers without the hook', () => {
    expect(findTtnInText(`[Ticket#${WRONG}] and ${GOOD} bare`)).toEqual([]);
  });

  it('does not cut a longer number down to a valid prefix', () => {
    expect(findTtnInText(`Ticket#${GOOD}5`)).toEqual([]);
  });

  it('returns several numbers in order without duplicates, with a custom hook', () => {
    expect(findTtnInText(`Ticket#${GOOD2} Ticket#${GOOD} Ticket#${GOOD2}`)).toEqual([GOOD2, GOOD]);
    expect(findTtnInText(`[Case#${GOOD}]`, 'Case#')).toEqual([GOOD]);
    expect(findTtnInText(`[Ticket#${GOOD}]`, 'Case#')).toEqual([]);
  });
});
