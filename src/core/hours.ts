import { ValidationError } from './errors.js';

/**
 * A queue's business hours, as an admin writes them: day ranges and time ranges, e.g.
 * `Mon-Fri 08:00-12:00 13:00-17:30; Sat 09:00-12:00`. Days not named are closed. Holidays are dates
 * (`2026-12-24`), closed all day. Times are the site's time zone (config `timeZone`).
 */
export type OpenHours = ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const TIME = /^([01]?\d|2[0-4]):([0-5]\d)$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

const minutes = (text: string, where: string): number => {
  const m = TIME.exec(text);
  if (!m) throw new ValidationError(`"${text}" in "${where}" is not a time (like 08:00 or 17:30)`);
  const value = Number(m[1]) * 60 + Number(m[2]);
  if (value > 24 * 60) throw new ValidationError(`"${text}" in "${where}" is after 24:00`);
  return value;
};

const day = (text: string, where: string): number => {
  const index = DAYS.indexOf(text.toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  if (index < 0 || text.length < 2) throw new ValidationError(`"${text}" in "${where}" is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`);
  return index;
};

/** Reads business hours (see {@link OpenHours}); a ValidationError says what is wrong and where. */
export function parseOpenHours(text: string): OpenHours {
  const week: Array<Array<[number, number]>> = DAYS.map(() => []);
  const parts = text.split(/[;\n]/).map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ValidationError('no business hours given (like "Mon-Fri 08:00-17:00")');
  for (const part of parts) {
    const [days, ...spans] = part.split(/[\s,]+/).filter(Boolean);
    if (!days || spans.length === 0) throw new ValidationError(`"${part}" needs days and times (like "Mon-Fri 08:00-17:00")`);
    const [first, last] = days.split('-');
    const from = day(first!, part);
    const to = last === undefined ? from : day(last, part);
    const ranges = spans.map((span): [number, number] => {
      const [start, end] = span.split('-');
      if (start === undefined || end === undefined) throw new ValidationError(`"${span}" in "${part}" is not a time range (like 08:00-17:00)`);
      const range: [number, number] = [minutes(start, part), minutes(end, part)];
      if (range[0] >= range[1]) throw new ValidationError(`"${span}" in "${part}" ends before it starts`);
      return range;
    });
    for (let d = from; ; d = (d + 1) % 7) {
      week[d]!.push(...ranges);
      if (d === to) break;
    }
  }
  return week.map((ranges) => ranges.sort((a, b) => a[0] - b[0]));
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** The canonical text of business hours: consecutive days with the same times together. */
export function formatOpenHours(hours: OpenHours): string {
  const key = (d: number) => hours[d]!.map(([a, b]) => `${hhmm(a)}-${hhmm(b)}`).join(' ');
  const parts: string[] = [];
  for (let d = 0; d < 7; ) {
    let e = d;
    while (e + 1 < 7 && key(e + 1) === key(d)) e++;
    if (key(d)) parts.push(`${DAY_NAMES[d]}${e > d ? `-${DAY_NAMES[e]}` : ''} ${key(d)}`);
    d = e + 1;
  }
  return parts.join('; ');
}

/** Reads holiday dates, one per line or separated by commas or spaces. */
export function parseHolidays(text: string): string[] {
  const dates = text.split(/[\s,;]+/).filter(Boolean);
  for (const d of dates) {
    if (!DATE.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`))) throw new ValidationError(`"${d}" is not a date (like 2026-12-24)`);
  }
  return [...new Set(dates)].sort();
}

const local = new Map<string, Intl.DateTimeFormat>();

/** Whether the queue is open at `at`: within its hours in `timeZone` and not a holiday there. No hours: always open. */
export function isOpen(hours: OpenHours | null, holidays: readonly string[], at: Date, timeZone: string): boolean {
  if (!hours) return true;
  let format = local.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    local.set(timeZone, format);
  }
  const p = Object.fromEntries(format.formatToParts(at).map((x) => [x.type, x.value]));
  if (holidays.includes(`${p.year}-${p.month}-${p.day}`)) return false;
  const weekday = day(String(p.weekday), 'the date');
  const now = Number(p.hour) * 60 + Number(p.minute);
  return hours[weekday]!.some(([a, b]) => now >= a && now < b);
}
