import { describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';
import type { TtnGeneratorContext } from '../../src/core/ttn/generator.js';
import {
  assertTtnGenerator,
  counterGenerator,
  dateChecksumGenerator,
  dateStamp,
  randomGenerator,
} from '../../src/core/ttn/generator.js';
import { createTtnService } from '../../src/core/ttn/ttn-service.js';
import type { CounterStore, SettingsStore } from '../../src/core/ports.js';

function memoryCounters(start: Record<string, number> = {}): CounterStore & { values: Map<string, number> } {
  const values = new Map(Object.entries(start));
  return {
    values,
    async next(key) {
      const v = (values.get(key) ?? 0) + 1;
      values.set(key, v);
      return v;
    },
  };
}

function memorySettings(): SettingsStore {
  const m = new Map<string, unknown>();
  return { get: async (k) => m.get(k) as never, set: async (k, v) => void m.set(k, structuredClone(v)) };
}

function ctx(counters: CounterStore, now = new Date(Date.UTC(2026, 10, 28, 10, 0)), timeZone = 'UTC'): TtnGeneratorContext {
  return { now, timeZone, checkDigit: luhnCheckDigit, systemId: '10', nextCounter: (k) => counters.next(k), randomDigits: (n) => '3'.repeat(n) };
}

describe('date-checksum generator', () => {
  it('makes YYYYMMDD + 5-digit daily counter + check digit for the first ticket of 2026-11-28', async () => {
    const ttn = await dateChecksumGenerator.next(ctx(memoryCounters()));
    expect(ttn).toBe('20261128000019');
    expect(ttn).toHaveLength(14);
  });

  it('starts the counter again the next day', async () => {
    const counters = memoryCounters();
    await dateChecksumGenerator.next(ctx(counters));
    const nextDay = await dateChecksumGenerator.next(ctx(counters, new Date(Date.UTC(2026, 10, 29, 0, 1))));
    expect(nextDay.slice(0, 13)).toBe('2026112900001');
  });

  it('takes the day in the site’s time zone, whatever the machine’s', async () => {
    // 23:30 UTC on 28 November is already the 29th in Berlin.
    const late = new Date(Date.UTC(2026, 10, 28, 23, 30));
    expect(dateStamp(late, 'UTC')).toBe('20261128');
    expect(dateStamp(late, 'Europe/Berlin')).toBe('20261129');
    expect((await dateChecksumGenerator.next(ctx(memoryCounters(), late, 'Europe/Berlin'))).slice(0, 8)).toBe('20261129');
  });

  it('widens the counter after 99999', async () => {
    const counters = memoryCounters({ 'date-checksum:20261128': 99_999 });
    const ttn = await dateChecksumGenerator.next(ctx(counters));
    expect(ttn.slice(0, 14)).toBe('20261128100000');
    expect(ttn).toHaveLength(15);
    expect(luhnCheckDigit.validate(ttn)).toBe(true);
  });
});

describe('other generators', () => {
  it('random makes 14 digits with a valid check digit and uses no counter', async () => {
    const counters = memoryCounters();
    const ttn = await randomGenerator.next(ctx(counters));
    expect(ttn).toMatch(/^3{13}\d$/);
    expect(luhnCheckDigit.validate(ttn)).toBe(true);
    expect(counters.values.size).toBe(0);
  });

  it('counter makes an increasing number with a check digit', async () => {
    const counters = memoryCounters();
    const a = await counterGenerator.next(ctx(counters));
    const b = await counterGenerator.next(ctx(counters));
    expect(a).toBe('000018');
    expect(b.slice(0, 5)).toBe('00002');
  });
});

describe('ttn service', () => {
  it('uses the OTRS format and check digit when otrs-date-checksum is chosen', async () => {
    const service = createTtnService({ settings: memorySettings(), counters: memoryCounters() });
    await service.load();
    await service.configure({ generator: 'otrs-date-checksum', systemId: '10' });
    expect(await service.next(new Date(2016, 0, 1, 12))).toBe('2016010110000019');
    expect(await service.next(new Date(2016, 0, 1, 12))).toBe('2016010110000028');
    expect(service.usualLength()).toBe(16);
  });

  it('keeps numbers from before a switch of check digit valid', async () => {
    const settings = memorySettings();
    const service = createTtnService({ settings, counters: memoryCounters() });
    await service.load();
    const luhnTtn = await service.next(new Date(2026, 10, 28));
    await service.configure({ checkDigit: 'damm' });
    const dammTtn = await service.next(new Date(2026, 10, 28));
    expect(dammTtn.slice(0, 13)).toBe('2026112800002');
    const checker = service.checker();
    expect(checker.isValidTtn(luhnTtn)).toBe(true);
    expect(checker.isValidTtn(dammTtn)).toBe(true);

    const reloaded = createTtnService({ settings, counters: memoryCounters() });
    await reloaded.load();
    expect(reloaded.current()).toMatchObject({ checkDigit: 'damm', accepted: ['luhn', 'damm'] });
  });

  it('refuses unknown generators and check digits with the known names', async () => {
    const service = createTtnService({ settings: memorySettings(), counters: memoryCounters() });
    await service.load();
    await expect(service.configure({ generator: 'nope' })).rejects.toThrow(/"nope" is not known; known: date-checksum, random, counter/);
    await expect(service.configure({ checkDigit: 'verhoeff' })).rejects.toThrow(/"verhoeff" is not known/);
  });

  it('refuses a generator that hands out a number with a wrong check digit', async () => {
    const broken = { name: 'broken', length: () => 4, next: async () => '1234' };
    const service = createTtnService({ settings: memorySettings(), counters: memoryCounters(), extraGenerators: [broken] });
    await service.load();
    await service.configure({ generator: 'broken' });
    await expect(service.next(new Date())).rejects.toThrow(/"broken" produced "1234", which is not digits ending in a valid luhn check digit/);
  });
});

describe('assertTtnGenerator', () => {
  it('names every problem of a broken module', () => {
    expect(() => assertTtnGenerator({ name: 'Bad Name', next: 1 }, 'site.js')).toThrow(
      /site\.js is not usable: "name" must be .*; "next\(ctx\)" must be a function.*; "length\(ctx\)" must be a function/,
    );
    expect(() => assertTtnGenerator(undefined, 'empty.js')).toThrow(/must export an object/);
  });
});
