// Field by field, how much of each corpus Hotline stores as a careful reader expects (sender, name,
// subject, body, charset, attachment names/types/sizes): our generated corpus and, where ../shared is,
// the shared sample corpus with its reviewed expectations. Prints markdown tables and the misses.
//   npx tsx bench/mail-corpus.ts
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Expected } from '../test/helpers/mail-corpus.js';
import { FIELDS, fileOverSmtp, generatedCorpus, tally } from '../test/helpers/mail-corpus.js';
import { mailHarness } from '../test/helpers/mail.js';

const SHARED = fileURLToPath(new URL('../../shared/mail-corpus/znuny/', import.meta.url));
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
};

async function measure(name: string, messages: Parameters<typeof fileOverSmtp>[1]) {
  const m = await mailHarness();
  try {
    const t = tally(await fileOverSmtp(m, messages, until));
    console.log(`\n### ${name}: ${messages.length} messages\n`);
    console.log(`| group | n | ${FIELDS.join(' | ')} |\n| --- | --- |${FIELDS.map(() => ' --- |').join('')}`);
    for (const [group, row] of Object.entries(t.byGroup)) console.log(`| ${group} | ${row.n} | ${FIELDS.map((f) => row[f]).join(' | ')} |`);
    console.log(`| **all** | ${messages.length} | ${FIELDS.map((f) => t.total[f]).join(' | ')} |`);
    if (t.misses.length) console.log(`\n${t.misses.length} misses${t.misses.length > 30 ? ', the first 30' : ''}: ${t.misses.slice(0, 30).join('; ')}`);
  } finally {
    await m.close();
  }
}

await measure('generated corpus', generatedCorpus());
if (existsSync(SHARED)) {
  const expected = JSON.parse(readFileSync(new URL('../test/mail-corpus/znuny-expected.json', import.meta.url), 'utf8')) as Record<string, Expected>;
  await measure('shared sample corpus (Znuny)', Object.entries(expected).map(([file, e]) => ({ id: file, group: file.split('/')[0]!, raw: readFileSync(join(SHARED, file)), expected: e })));
} else console.log(`\nshared sample corpus: not found at ${SHARED}, skipped`);
