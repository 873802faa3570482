// German and English for every page, message and mail, with i18next: a well-kept library that
// renders on the server without a DOM, takes its texts as plain JSON (web/locales/<lang>.json, one
// key per text, so a test can hold both languages to the same keys), interpolates {{name}}
// (escaping is left to the templates, which escape all output), and lets texts be added at run time
// — the admins' own wording (`text_overrides`) over the shipped one.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import i18next from 'i18next';
import type { TFunction } from 'i18next';

/** The languages Hotline speaks; the first is the fallback for a key a language lacks. */
export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

const LOCALES = fileURLToPath(new URL('../../web/locales/', import.meta.url));

/** The shipped texts of a language, as nested JSON. */
export function shippedTexts(lang: Language): Record<string, unknown> {
  return JSON.parse(readFileSync(`${LOCALES}${lang}.json`, 'utf8')) as Record<string, unknown>;
}

/** `a.b.c` → text, for every leaf of nested texts. */
export function flatten(texts: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(texts)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = String(v);
  }
  return out;
}

/** The language of an agent's setting, a customer's, or a header, as one Hotline speaks (else null). */
export function languageOf(value: string | null | undefined): Language | null {
  const base = (value ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return (LANGUAGES as readonly string[]).includes(base ?? '') ? (base as Language) : null;
}

/** The language a browser asks for first (Accept-Language, by weight) among Hotline's, else `fallback`. */
export function fromAcceptLanguage(header: string | undefined, fallback: Language = 'en'): Language {
  const ranked = (header ?? '')
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = Number(/q=([\d.]+)/.exec(params.join(';'))?.[1] ?? 1);
      return { lang: languageOf(tag), q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.lang && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.lang ?? fallback;
}

export type Translate = TFunction;

/**
 * The texts of both languages, and `t(lang)` for one. `override` sets the admins' wording of a key
 * (empty: back to the shipped text).
 */
export function createI18n(overrides: Array<{ lang: string; key: string; text: string }> = []) {
  const instance = i18next.createInstance();
  void instance.init({
    initAsync: false,
    lng: 'en',
    fallbackLng: 'en',
    supportedLngs: [...LANGUAGES],
    resources: Object.fromEntries(LANGUAGES.map((l) => [l, { translation: shippedTexts(l) }])),
    // Templates escape what they print; texts go in as they are.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  const shipped = Object.fromEntries(LANGUAGES.map((l) => [l, flatten(shippedTexts(l))])) as Record<Language, Record<string, string>>;
  const fixed = new Map<Language, TFunction>(LANGUAGES.map((l) => [l, instance.getFixedT(l)]));
  const override = (lang: string, key: string, text: string) => {
    const l = languageOf(lang);
    if (!l || !(key in shipped[l])) return;
    instance.addResource(l, 'translation', key, text || shipped[l][key]!);
  };
  for (const o of overrides) override(o.lang, o.key, o.text);
  return {
    t: (lang: Language): TFunction => fixed.get(lang) ?? fixed.get('en')!,
    override,
    /** Every key with its shipped text per language (for the admins' page of texts). */
    shipped: () => shipped,
  };
}

export type I18n = ReturnType<typeof createI18n>;
