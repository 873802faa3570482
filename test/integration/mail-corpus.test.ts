import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Expected } from '../helpers/mail-corpus.js';
import { fileOverSmtp, generatedCorpus, sha256, tally } from '../helpers/mail-corpus.js';
import { mailTestScope } from '../helpers/mail.js';

// Each message sent over real SMTP to a fresh Hotline; what it stored (the article's sender, name,
// subject and text, its attachments) compared field by field with what a careful reader expects.
const CORPUS = fileURLToPath(new URL('../../../shared/mail-corpus/znuny/', import.meta.url));
const HAVE_CORPUS = existsSync(CORPUS);
if (!HAVE_CORPUS) console.warn(`mail-corpus: no sample corpus at ${CORPUS}; its part is skipped`);
const { harness } = mailTestScope();
const filed = (done: () => boolean) => expect.poll(done, { timeout: 60_000 }).toBe(true);

describe('what a careful reader expects of each message, field by field', () => {
  it('is what Hotline stores of our own corpus: 17 charsets declared, undeclared, labelled us-ascii, in RFC 2047 and 2231 words; labels that are aliases, unknown or wrong; the odd parts', { timeout: 120_000 }, async () => {
    const m = await harness();
    const corpus = generatedCorpus();
    expect(corpus.length).toBeGreaterThan(120);
    const results = await fileOverSmtp(m, corpus, filed);
    expect(tally(results).misses).toEqual([]);
  });

  it.skipIf(!HAVE_CORPUS)('is what Hotline stores of the shared sample corpus (expectations reviewed message by message)', { timeout: 120_000 }, async () => {
    const expected = JSON.parse(readFileSync(new URL('../mail-corpus/znuny-expected.json', import.meta.url), 'utf8')) as Record<string, Expected & { sha256: string }>;
    const messages = Object.entries(expected).map(([file, e]) => ({ id: file, group: 'znuny', raw: readFileSync(join(CORPUS, file)), expected: e }));
    // The expectations are for these files as they were reviewed.
    expect(messages.filter((msg) => sha256(msg.raw) !== msg.expected.sha256).map((msg) => msg.id)).toEqual([]);
    const m = await harness();
    const results = await fileOverSmtp(m, messages, filed);
    expect(tally(results).misses).toEqual([]);
  });
});
