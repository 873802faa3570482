import type { FastifyRequest } from 'fastify';
import type { TFunction } from 'i18next';
import type { Hotline } from '../app.js';
import type { Agent } from '../core/types.js';
import type { I18n, Language } from '../i18n/i18n.js';
import { fromAcceptLanguage, LANGUAGES, languageOf } from '../i18n/i18n.js';
import { formatTime, isTimeZone, relativeTime, TIME_ZONES } from '../i18n/time.js';

/** The cookie that keeps the language chosen on the login page (before anyone is logged in). */
export const LANG_COOKIE = 'hotline_lang';

/** How a page speaks to whoever asks for it: language, time zone, and the texts and times in them. */
export interface Locale {
  lang: Language;
  timeZone: string;
  t: TFunction;
  /** A time in the one format of the language, in the zone. */
  time(iso: string | null | undefined): string;
  /** "vor 5 Minuten" within a week, else null. */
  ago(iso: string | null | undefined): string | null;
}

/**
 * The agent's language and zone. For someone not logged in: the language chosen on the login page
 * (`?lang=`, then its cookie), else the one the browser asks for; and the site's zone.
 */
export function localeFor(i18n: I18n, siteTimeZone: string, agent: Agent | null, asked: { query?: string; cookie?: string; acceptLanguage?: string }, now: () => Date): Locale {
  const lang = (agent && languageOf(agent.language)) ?? languageOf(asked.query) ?? languageOf(asked.cookie) ?? fromAcceptLanguage(asked.acceptLanguage);
  const timeZone = agent?.timeZone && isTimeZone(agent.timeZone) ? agent.timeZone : siteTimeZone;
  return { lang, timeZone, t: i18n.t(lang), time: (iso) => formatTime(iso, lang, timeZone), ago: (iso) => relativeTime(iso, lang, now()) };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The locale of a request (see localeFor); the server decorates itself with it. */
    localeOf(request: FastifyRequest): Locale;
  }
}

/** The request's locale (the agent's, once logged in). */
export const localeOf = (request: FastifyRequest): Locale => request.server.localeOf(request);

/** "5 seconds", "2 minutes" in the locale's words: how long a login must wait. */
export function waitText(locale: Locale, seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 120 ? locale.t('wait.seconds', { count: s }) : locale.t('wait.minutes', { count: Math.ceil(s / 60) });
}

/** What a mail to a customer is written in: the customer's language where known, else the agent's; times in the agent's zone. */
export function mailWords(locale: Locale, customerLanguage: string | null | undefined) {
  const lang = languageOf(customerLanguage);
  if (!lang || lang === locale.lang) return { t: (key: string, values?: Record<string, unknown>) => locale.t(key, values), time: (iso: string) => locale.time(iso) };
  return { t: (key: string, values?: Record<string, unknown>) => locale.t(key, { ...values, lng: lang }), time: (iso: string) => formatTime(iso, lang, locale.timeZone) };
}

/** The languages and zones an agent chooses from, and the site's zone. */
export function zoneChoices(hotline: Pick<Hotline, 'config' | 'clock'>, locale: Locale) {
  return {
    languages: LANGUAGES.map((code) => ({ code, name: locale.t(`language.${code}`) })),
    timeZones: TIME_ZONES,
    siteTimeZone: hotline.config.timeZone,
    now: hotline.clock.now().toISOString(),
  };
}
