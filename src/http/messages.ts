// What went wrong, in the reader's language. Hotline's errors are written in English where they
// arise (the API, the CLI and the logs keep them so); pages show them through this catalogue,
// web/locales/messages.<lang>.json: each English message with {{placeholders}} → its wording. A
// message "field: problem" is looked up whole, else its problem part (the field name stays);
// several joined by "; " each on their own. A message not in the catalogue stays as it is — a
// test (test/unit/i18n-keys.test.ts) holds every message thrown in src/ to having an entry.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Language } from '../i18n/i18n.js';

const LOCALES = fileURLToPath(new URL('../../web/locales/', import.meta.url));

interface Entry {
  pattern: RegExp;
  names: string[];
  text: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** English pattern → a matcher for messages made from it. */
function compile(english: string, text: string): Entry {
  const names: string[] = [];
  const source = english
    .split(/(\{\{\w+\}\})/)
    .map((part) => {
      const m = /^\{\{(\w+)\}\}$/.exec(part);
      if (!m) return escape(part);
      names.push(m[1]!);
      return '(.+?)';
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`, 's'), names, text };
}

/** The catalogue of a language (English has none: its messages are the keys). */
export function loadCatalogue(lang: Language): Entry[] {
  if (lang === 'en') return [];
  const raw = JSON.parse(readFileSync(`${LOCALES}messages.${lang}.json`, 'utf8')) as Record<string, string>;
  return Object.entries(raw).map(([en, text]) => compile(en, text));
}

const catalogues = new Map<Language, Entry[]>();
const catalogue = (lang: Language): Entry[] => {
  let c = catalogues.get(lang);
  if (!c) catalogues.set(lang, (c = loadCatalogue(lang)));
  return c;
};

function lookUp(entries: readonly Entry[], message: string): string | null {
  for (const e of entries) {
    const m = e.pattern.exec(message);
    if (m) return e.text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => m[e.names.indexOf(name) + 1] ?? whole);
  }
  return null;
}

/** A message in the language (as it is where the catalogue has no entry). */
export function translateMessage(lang: Language, message: string): string {
  const entries = catalogue(lang);
  if (entries.length === 0) return message;
  const one = (part: string): string | null => {
    const whole = lookUp(entries, part);
    if (whole !== null) return whole;
    const split = /^([\w.[\]-]+): (.*)$/s.exec(part);
    const rest = split ? lookUp(entries, split[2]!) : null;
    return rest !== null ? `${split![1]}: ${rest}` : null;
  };
  return one(message) ?? message.split('; ').map((part) => one(part) ?? part).join('; ');
}
