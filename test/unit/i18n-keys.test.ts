import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flatten, LANGUAGES, shippedTexts } from '../../src/i18n/i18n.js';
import { translateMessage } from '../../src/http/messages.js';

const ROOT = join(import.meta.dirname, '../..');
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
const filesUnder = (dir: string, ext: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => join(ROOT, dir, f));
const texts = Object.fromEntries(LANGUAGES.map((l) => [l, flatten(shippedTexts(l))]));
/** A plural's keys stand for their base key (`list.count_one` → `list.count`). */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');

describe('texts in every language', () => {
  it('has each key in every language, with the same placeholders', () => {
    const keys = new Set(LANGUAGES.flatMap((l) => Object.keys(texts[l]!)));
    const problems: string[] = [];
    for (const key of keys) {
      for (const l of LANGUAGES) if (!(key in texts[l]!)) problems.push(`${key}: missing in ${l}`);
      const [first, ...rest] = LANGUAGES.filter((l) => key in texts[l]!).map((l) => placeholders(texts[l]![key]!).join(','));
      if (rest.some((p) => p !== first)) problems.push(`${key}: placeholders differ between languages`);
    }
    expect(problems).toEqual([]);
    expect(keys.size).toBeGreaterThan(400);
  });

  it('fails when a key is in one language only (the check above can fail)', () => {
    const en = { ...texts.en, 'only.english': 'x' };
    expect(Object.keys(en).filter((k) => !(k in texts.de!))).toEqual(['only.english']);
  });

  it('has every text a template or the code asks for', () => {
    const used = new Map<string, string>();
    for (const file of [...filesUnder('web/templates', '.eta'), ...filesUnder('src', '.ts'), ...filesUnder('scripts', '.ts')]) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bt\('([\w.-]+)'[,)]/g)) used.set(m[1]!, file);
    }
    // A key, or a group of keys asked for whole (`t('pops', { returnObjects: true })`).
    const known = new Set(Object.keys(texts.en!).flatMap((k) => base(k).split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
    const unknown = [...used].filter(([key]) => !known.has(key)).map(([key, file]) => `${key} (${file.slice(ROOT.length + 1)})`);
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(300);
  });

  it('has each pop text pops.js asks for', () => {
    const js = readFileSync(join(ROOT, 'web/static/pops.js'), 'utf8');
    const asked = [...js.matchAll(/\btr\('([\w.-]+)'[,)]/g)].map((m) => m[1]!);
    expect(asked.length).toBeGreaterThan(20);
    expect(asked.filter((k) => !(`pops.${k}` in texts.de!))).toEqual([]);
  });
});

describe('messages in German', () => {
  const catalogue = JSON.parse(readFileSync(join(ROOT, 'web/locales/messages.de.json'), 'utf8')) as Record<string, string>;

  it('keeps the placeholders of each message', () => {
    expect(Object.entries(catalogue).filter(([en, de]) => placeholders(en).join() !== placeholders(de).join())).toEqual([]);
  });

  it('has every message the code throws at a user (or it would show in English)', () => {
    const pattern = /new (?:ValidationError|NotFoundError|ForbiddenError|ConflictError|ServiceUnavailableError)\(\s*(`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g;
    const missing: string[] = [];
    let seen = 0;
    for (const file of filesUnder('src', '.ts')) {
      for (const m of readFileSync(file, 'utf8').matchAll(pattern)) {
        // `${…}` stands for any value: each becomes a sample word.
        const sample = m[1]!.slice(1, -1).replace(/\\(['"`])/g, '$1').replace(/\$\{(?:[^{}]|\{[^}]*\})*\}/g, 'X1');
        // Messages for the PBX's log only, or made whole of other messages.
        if (/^(AMI|ARI) /.test(sample) || /^(X1: )?X1$/.test(sample) || /^X1 X1$/.test(sample) || /^\w+: X1$/.test(sample)) continue;
        seen++;
        if (translateMessage('de', sample) === sample) missing.push(`${sample} (${file.slice(ROOT.length + 1)})`);
      }
    }
    expect(missing).toEqual([]);
    expect(seen).toBeGreaterThan(80);
  });

  it('translates a message whole, by its problem after a field name, and each of several', () => {
    expect(translateMessage('de', 'no ticket 1234')).toBe('Kein Ticket 1234');
    expect(translateMessage('de', 'body.title: at most 300 characters')).toBe('body.title: höchstens 300 Zeichen');
    expect(translateMessage('de', 'text: text is required; to: an address is required for a reply')).toBe('text: Text fehlt; to: Eine Antwort braucht eine Adresse');
    expect(translateMessage('de', 'something new')).toBe('something new');
    expect(translateMessage('en', 'no ticket 1234')).toBe('no ticket 1234');
  });
});
