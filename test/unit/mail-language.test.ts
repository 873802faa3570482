import { describe, expect, it } from 'vitest';
import { detectLanguage, mailLanguage } from '../../src/mail/language.js';

describe('the language of a mail', () => {
  it.each([
    ['Hallo, können Sie mir bitte mit meinem Drucker helfen?', 'de'],
    ['Rechnung\nDanke, das passt so.', 'de'],
    ['Drucker defekt\nGuten Tag, unser Drucker im zweiten Stock druckt seit Montag nur noch leere Seiten.', 'de'],
    ['Hello, can you help me with my printer please?', 'en'],
    ['Re: Invoice\nThanks, that works for me.', 'en'],
    ['printer\nAny news on this one?', 'en'],
    // Too few words to tell (trigrams alone call the first one German).
    ['Printer broken\nIt smokes.', null],
    ['Hilfe\nBitte!', null],
    ['x\nok', null],
    // From the shared Znuny corpus: umlauts alone do not make German.
    ['first part\n\nsecond part äöø', null],
    ['blasdfjasaösdfj\nflasjdlöfjk', null],
    ['Hallöle,\n\nNücht mal vor Anhängen machen Umlaute halt:\näöüÄÖÜ', 'de'],
  ])('%j is %s', (text, lang) => {
    expect(detectLanguage(text)).toBe(lang);
  });

  it('takes the customer’s language first, then Content-Language, then the words, else English', () => {
    const mail = (text: string, headers: Record<string, string> = {}) => ({ headers: new Map(Object.entries(headers)), subject: '', text });
    expect(mailLanguage(mail('Thanks, that works for me.'), 'de')).toBe('de');
    expect(mailLanguage(mail('Thanks, that works for me.', { 'content-language': 'de-AT, en' }), null)).toBe('de');
    expect(mailLanguage(mail('Danke, das passt so für mich.'), 'fr')).toBe('de');
    expect(mailLanguage(mail('ok'), null)).toBe('en');
  });
});
