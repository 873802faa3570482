import { describe, expect, it } from 'vitest';
import { formatOpenHours, isOpen, parseHolidays, parseOpenHours } from '../../src/core/hours.js';

describe('business hours', () => {
  it('reads day ranges with several time ranges, and writes them back the same way', () => {
    const hours = parseOpenHours('mon-fri 08:00-12:00 13:00-17:30; Sat 9:00-12:00');
    expect(hours[0]).toEqual([[480, 720], [780, 1050]]);
    expect(hours[5]).toEqual([[540, 720]]);
    expect(hours[6]).toEqual([]);
    expect(formatOpenHours(hours)).toBe('Mon-Fri 08:00-12:00 13:00-17:30; Sat 09:00-12:00');
    // A range over the week's end.
    expect(formatOpenHours(parseOpenHours('Fri-Mon 10:00-14:00'))).toBe('Mon 10:00-14:00; Fri-Sun 10:00-14:00');
  });

  it('says what is wrong and where', () => {
    expect(() => parseOpenHours('')).toThrow(/no business hours/);
    expect(() => parseOpenHours('Mon-Fry 08:00-17:00')).toThrow(/"Fry" in "Mon-Fry 08:00-17:00" is not a weekday/);
    expect(() => parseOpenHours('Mon 8-17')).toThrow(/"8" in "Mon 8-17" is not a time/);
    expect(() => parseOpenHours('Mon 17:00-08:00')).toThrow(/ends before it starts/);
    expect(() => parseOpenHours('Mon')).toThrow(/needs days and times/);
    expect(() => parseHolidays('2026-12-24, 2026-13-01')).toThrow(/"2026-13-01" is not a date/);
    expect(parseHolidays('2026-12-26\n2026-12-24 2026-12-24')).toEqual(['2026-12-24', '2026-12-26']);
  });

  it('is open within the hours in the site\'s time zone, closed outside them and on holidays', () => {
    const hours = parseOpenHours('Mon-Fri 08:00-17:00');
    // Friday 2026-12-04, 07:30 UTC = 08:30 in Berlin (winter time): open there, not yet in London.
    const friday = new Date('2026-12-04T07:30:00Z');
    expect(isOpen(hours, [], friday, 'Europe/Berlin')).toBe(true);
    expect(isOpen(hours, [], friday, 'Europe/London')).toBe(false);
    expect(isOpen(hours, ['2026-12-04'], friday, 'Europe/Berlin')).toBe(false);
    // 17:00 is closing time; Saturday is closed; no hours at all: always open.
    expect(isOpen(hours, [], new Date('2026-12-04T16:00:00Z'), 'Europe/Berlin')).toBe(false);
    expect(isOpen(hours, [], new Date('2026-12-05T10:00:00Z'), 'Europe/Berlin')).toBe(false);
    expect(isOpen(null, ['2026-12-05'], new Date('2026-12-05T10:00:00Z'), 'Europe/Berlin')).toBe(true);
    // Open to midnight.
    expect(isOpen(parseOpenHours('Mon-Sun 00:00-24:00'), [], new Date('2026-12-05T22:59:00Z'), 'Europe/Berlin')).toBe(true);
  });
});
