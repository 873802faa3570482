// The language a customer's mail is written in, for the auto-reply: the customer's own where known;
// else what the mail says of itself (Content-Language); else what its words are (common small words
// and umlauts, then franc-min, a well-kept trigram detector asked only between the languages Hotline
// answers in). Undecided: English.
import { francAll } from 'franc-min';
import { languageOf, type Language } from '../i18n/i18n.js';

const BY_ISO3: Record<string, Language> = { deu: 'de', eng: 'en' };

// Trigrams alone mistake short mails ("Printer broken. It smokes." reads as German to them): the
// small words every sentence has, and umlauts (which tip the scales but do not decide alone: "äöø" is not German), decide first; trigrams only over enough text, and only
// when clearly ahead.
const WORDS: Record<Language, Set<string>> = {
  de: new Set('der die das den dem und ist sind nicht ich sie wir bitte danke mit für ein eine einen zu auf diese dieser es mein meine meinen ihr ihre kann können könnten würde haben hat habe von im seit was wenn noch gibt wird hallo guten tag grüße freundlichen mir uns nur auch schon aber oder leider funktioniert geht mal vor wie bei als dass nach über hier sehr sich'.split(' ')),
  en: new Set('the and is are not i you we please thanks thank with for a an to on this that it my your can could would have has of since what when any there be will do does help hello hi dear regards still but or unfortunately works'.split(' ')),
};
const MIN_TRIGRAM_TEXT = 60;

/** The language of the words (subject and text), or null when they are too few to tell. */
export function detectLanguage(text: string): Language | null {
  const sample = text.replace(/^>.*$/gm, '').slice(0, 4000);
  const words = sample.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  let de = /[äöüß]/i.test(sample) ? 1 : 0;
  let en = 0;
  for (const w of words) {
    if (WORDS.de.has(w)) de++;
    if (WORDS.en.has(w)) en++;
  }
  if (Math.abs(de - en) >= 2) return de > en ? 'de' : 'en';
  if (sample.replace(/\s+/g, ' ').trim().length < MIN_TRIGRAM_TEXT) return null;
  const [first, second] = francAll(sample, { only: Object.keys(BY_ISO3) });
  return first && first[1] > 0 && (!second || second[1] < 0.85) ? (BY_ISO3[first[0]] ?? null) : null;
}

/** The language to answer a mail in. */
export function mailLanguage(mail: { headers: Map<string, string>; subject: string; text: string }, customerLanguage: string | null | undefined): Language {
  return languageOf(customerLanguage) ?? languageOf(mail.headers.get('content-language')?.split(',')[0]) ?? detectLanguage(`${mail.subject}\n${mail.text}`) ?? 'en';
}
