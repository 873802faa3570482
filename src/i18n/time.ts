// Times as agents read them: one format per language, in the agent's time zone (stored in UTC),
// relative where that helps ("vor 5 Minuten"). Intl only: Node's full ICU knows every zone.
import type { Language } from './i18n.js';

const formats = new Map<string, Intl.DateTimeFormat>();
function partsIn(date: Date, timeZone: string): Record<string, string> {
  let f = formats.get(timeZone);
  if (!f) formats.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })));
  return Object.fromEntries(f.formatToParts(date).map((p) => [p.type, p.value]));
}

/** Whether Node knows the zone (an IANA name such as Europe/Berlin). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The zones agents may choose from. */
export const TIME_ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');

/** `2026-12-05 14:03` (English) or `05.12.2026 14:03` (German), in the zone; '-' for none. */
export function formatTime(iso: string | null | undefined, lang: Language, timeZone: string): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '-';
  const p = partsIn(date, timeZone);
  return lang === 'de' ? `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}` : `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

const relatives = new Map<Language, Intl.RelativeTimeFormat>();
/** "5 minutes ago", "vor 5 Minuten", "in 2 hours"; null beyond a week (the date says more then). */
export function relativeTime(iso: string | null | undefined, lang: Language, now: Date): string | null {
  if (!iso) return null;
  const seconds = Math.round((Date.parse(iso) - now.getTime()) / 1000);
  if (!Number.isFinite(seconds) || Math.abs(seconds) > 7 * 86_400) return null;
  let r = relatives.get(lang);
  if (!r) relatives.set(lang, (r = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' })));
  const abs = Math.abs(seconds);
  if (abs < 45) return r.format(0, 'second');
  if (abs < 45 * 60) return r.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return r.format(Math.round(seconds / 3600), 'hour');
  return r.format(Math.round(seconds / 86_400), 'day');
}

/** The zone's offset from UTC at that instant, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const p = partsIn(new Date(instant), timeZone);
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - Math.floor(instant / 1000) * 1000;
}

/** A wall-clock time in the zone (`2026-12-24T09:00`, as a datetime-local field sends it) → the UTC instant (ISO). */
export function zonedToUtc(local: string, timeZone: string): string | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(local);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  // The offset at the wall time read as UTC, then at the instant found (right across a change of offset).
  let instant = wall - offsetAt(wall, timeZone);
  instant = wall - offsetAt(instant, timeZone);
  return new Date(instant).toISOString();
}

/** An instant as a datetime-local field shows it in the zone (`2026-12-24T09:00`). */
export function utcToZonedInput(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '';
  const p = partsIn(new Date(iso), timeZone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
