import { describe, expect, it } from 'vitest';
import { formatTime, relativeTime, utcToZonedInput, zonedToUtc } from '../../src/i18n/time.js';
import { fromAcceptLanguage } from '../../src/i18n/i18n.js';

describe('times as agents read them', () => {
  it('has one format per language, in the agent\'s zone', () => {
    expect(formatTime('2026-12-05T13:03:00.000Z', 'en', 'UTC')).toBe('2026-12-05 13:03');
    expect(formatTime('2026-12-05T13:03:00.000Z', 'de', 'Europe/Berlin')).toBe('05.12.2026 14:03');
    expect(formatTime('2026-07-05T13:03:00.000Z', 'de', 'Europe/Berlin')).toBe('05.07.2026 15:03');
    expect(formatTime('2026-12-05T23:30:00.000Z', 'en', 'Asia/Tokyo')).toBe('2026-12-06 08:30');
    expect(formatTime(null, 'en', 'UTC')).toBe('-');
  });

  it('says how long ago where that helps, and nothing beyond a week', () => {
    const now = new Date('2026-12-05T12:00:00Z');
    expect(relativeTime('2026-12-05T11:55:00Z', 'de', now)).toBe('vor 5 Minuten');
    expect(relativeTime('2026-12-05T11:55:00Z', 'en', now)).toBe('5 minutes ago');
    expect(relativeTime('2026-12-05T09:00:00Z', 'en', now)).toBe('3 hours ago');
    expect(relativeTime('2026-12-05T11:59:50Z', 'de', now)).toBe('jetzt');
    expect(relativeTime('2026-11-01T12:00:00Z', 'en', now)).toBeNull();
  });

  it('reads a time typed in the agent\'s zone as the right instant, also across a change of summer time', () => {
    expect(zonedToUtc('2026-12-24T09:00', 'Europe/Berlin')).toBe('2026-12-24T08:00:00.000Z');
    expect(zonedToUtc('2026-07-01T09:00', 'Europe/Berlin')).toBe('2026-07-01T07:00:00.000Z');
    expect(zonedToUtc('2026-03-29T03:30', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z');
    expect(zonedToUtc('2026-12-24T09:00', 'UTC')).toBe('2026-12-24T09:00:00.000Z');
    expect(utcToZonedInput('2026-12-24T08:00:00.000Z', 'Europe/Berlin')).toBe('2026-12-24T09:00');
    expect(zonedToUtc('tomorrow', 'UTC')).toBeNull();
  });

  it('takes the login page\'s language from the browser', () => {
    expect(fromAcceptLanguage('de-DE,de;q=0.9,en;q=0.8')).toBe('de');
    expect(fromAcceptLanguage('fr-FR,fr;q=0.9,en;q=0.5,de;q=0.7')).toBe('de');
    expect(fromAcceptLanguage('fr')).toBe('en');
    expect(fromAcceptLanguage(undefined)).toBe('en');
  });
});
