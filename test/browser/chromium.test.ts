import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';

let w: WebHarness;
let browser: Browser;
let base: string;

// One browser for the file; every test gets a service and data of its own (no test sees another's changes).
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  w = await webHarness();
  base = await w.server.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await w?.close();
});

async function loggedIn(login: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/queues`);
  await expect.poll(() => page.url()).toContain('/login');
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(`${login}-password`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/queues`);
  return page;
}

describe('the web UI in Chromium', () => {
  it('logs in, opens a queue and a ticket, adds a note, and creates a phone ticket', async () => {
    const page = await loggedIn('alice');
    await page.getByRole('link', { name: 'Support' }).click();
    await page.getByRole('link', { name: w.tickets.support.ttn }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe(`Ticket#${w.tickets.support.ttn} — Printer on fire`);
    expect(await page.locator('.article.email-in pre').textContent()).toBe('It smokes.');

    await page.getByLabel('Note').fill('Toner replaced on site.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe('Note added.');
    expect(await page.locator('.article.note pre').textContent()).toBe('Toner replaced on site.');
    const articles = await w.hotline.tickets.articles(w.tickets.support.id);
    expect(articles.at(-1)).toMatchObject({ kind: 'note', text: 'Toner replaced on site.', authorAgentId: w.agents.alice.id });

    await page.getByRole('link', { name: 'New phone ticket' }).click();
    await page.getByLabel('Find the customer by phone number or e-mail').fill('0171 2345678');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('Carl Customer');
    await page.getByLabel('Title').fill('Scanner jammed');
    await page.getByLabel('Note', { exact: true }).fill('Paper stuck in the feeder.');
    await page.getByRole('button', { name: 'Create ticket' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toMatch(/^Ticket#\d{14} — Scanner jammed$/);
    const ttn = /Ticket#(\d{14})/.exec((await page.locator('h1').textContent())!)![1]!;
    expect(await w.hotline.tickets.findByTtn(ttn)).toMatchObject({ title: 'Scanner jammed', customerId: w.customer.id });
    expect(await page.locator('dl.facts').textContent()).toContain('Carl Customer');
  });

  it('lets an admin map a queue to an extension', async () => {
    const page = await loggedIn('root');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.locator('main').getByRole('link', { name: 'Queues' }).click();
    const billing = page.locator('form.row').filter({ has: page.locator('input[name="name"][value="Billing"]') });
    await billing.getByLabel('Dial target').fill('PJSIP/600');
    await billing.getByRole('button', { name: 'Save Billing' }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe('Queue saved.');
    expect(await w.hotline.directory.findQueue(w.queues.billing.id)).toMatchObject({ dialTarget: 'PJSIP/600', asteriskQueue: 'billing' });
    expect(await page.locator('form.row').filter({ has: page.locator('input[name="name"][value="Billing"]') }).getByLabel('Dial target').inputValue()).toBe('PJSIP/600');
  });

  it('renders a hostile mail inert: no script runs, no dialog opens', async () => {
    await w.hotline.tickets.addArticle(w.tickets.support.id, {
      kind: 'email-in',
      text: 'x',
      html: '<p id="m">hi</p><img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script><a href="javascript:document.title=\'pwned\'">x</a>',
    });
    const page = await loggedIn('alice');
    let dialogs = 0;
    page.on('dialog', async (d) => {
      dialogs++;
      await d.dismiss();
    });
    await page.goto(`${base}/tickets/${w.tickets.support.ttn}`);
    await page.locator('a', { hasText: /^x$/ }).click().catch(() => undefined);
    expect(await page.title()).toBe(`Ticket#${w.tickets.support.ttn} — Hotline`);
    expect(dialogs).toBe(0);
  });
});

describe('IVR prompts in Chromium', () => {
  it('uploads a prompt and plays it back in the page', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { sineWav } = await import('../helpers/wav.js');
    const file = join(mkdtempSync(join(tmpdir(), 'hotline-upload-')), 'goodbye-studio.wav');
    writeFileSync(file, sineWav(44100, 2, 24, 2));
    const page = await loggedIn('root');
    await page.goto(`${base}/admin/prompts`);
    const row = page.locator('#prompt-en-goodbye');
    await row.locator('input[type=file]').setInputFiles(file);
    await row.getByRole('button', { name: 'Upload en/goodbye' }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe('Prompt converted and saved; the next call hears it.');
    expect(await page.locator('#prompt-en-goodbye td').nth(2).textContent()).toBe('uploaded');
    const played = await page.locator('#prompt-en-goodbye audio').evaluate(async (el) => {
      const audio = el as unknown as { play(): Promise<void>; duration: number; currentTime: number; paused: boolean; error: unknown; load(): void };
      audio.load();
      await audio.play();
      // Until the browser reports a tenth of a second played (its own timeupdate events).
      await new Promise<void>((resolve) => {
        const played = () => audio.currentTime > 0.1 && resolve();
        (el as unknown as { addEventListener(type: string, fn: () => void): void }).addEventListener('timeupdate', played);
        played();
      });
      return { duration: audio.duration, currentTime: audio.currentTime, paused: audio.paused, error: audio.error };
    });
    expect(played.error).toBeNull();
    expect(played.duration).toBeCloseTo(2, 1);
    expect(played.currentTime).toBeGreaterThan(0.1);
  });
});

describe("an agent's day in Chromium", () => {
  it('sorts the list by a heading, closes two ticked tickets at once, saves the filter, and sees a notice arrive live', async () => {
    const insert = w.hotline.db.prepare("INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?)");
    for (let i = 0; i < 5; i++) insert.run(`81000${i}`, `Day ${i}`, w.queues.support.id, 1 + i, '2025-01-01T00:00:00.000Z', new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString());
    const page = await loggedIn('alice');
    await page.goto(`${base}/tickets`);
    await page.getByRole('link', { name: 'Priority' }).click();
    await expect.poll(() => page.locator('th[aria-sort="descending"]').textContent()).toBe('Priority ▼');
    expect(await page.locator('tbody tr td:nth-child(2)').first().textContent()).toBe('810004');
    await page.getByLabel('Select 810004').check();
    await page.getByLabel('Select 810003').check();
    await page.locator('fieldset').getByLabel('State').selectOption('closed');
    await page.getByRole('button', { name: 'Change selected' }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe('2 tickets changed.');
    expect((await w.hotline.tickets.findByTtn('810004'))!.state).toBe('closed');
    await page.getByRole('link', { name: 'Back to the list' }).click();
    await page.getByLabel('Save this filter as').fill('By priority');
    await page.getByRole('button', { name: 'Save filter' }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toContain('Filter saved');
    expect(await page.locator('.saved-filters a').textContent()).toBe('By priority');
    // Bob hands Alice a ticket while her page is open: the notice comes to it, and the menu counts it.
    await w.hotline.directory.setAccess(w.agents.bob.id, w.queues.support.id, 'rw');
    await expect.poll(() => page.locator('html').getAttribute('data-live')).toBe('on');
    await w.hotline.tickets.change(w.tickets.support.id, { ownerId: w.agents.alice.id }, { agentId: w.agents.bob.id });
    await expect.poll(() => page.locator('.notice-pop a').textContent()).toBe(`Ticket ${w.tickets.support.ttn} “Printer on fire” is yours now (Bob).`);
    expect(await page.locator('#notices-link').textContent()).toBe('Notices (1 new)');
  });
});

describe('replying in Chromium', () => {
  it('replies to a mail with its quote, a canned answer and an attached file', async () => {
    const { mailHarness } = await import('../helpers/mail.js');
    const { buildServer } = await import('../../src/http/server.js');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const m = await mailHarness();
    const server = await buildServer(m.hotline, { mail: m.mail });
    try {
      const mailBase = await server.listen({ host: '127.0.0.1', port: 0 });
      await m.hotline.agents.create({ login: 'alice', name: 'Alice', role: 'agent', password: 'alice-password' }).then(({ agent }) => m.hotline.directory.setAccess(agent.id, m.queues.support.id, 'rw'));
      await m.hotline.cannedAnswers.save({ queueId: m.queues.support.id, name: 'Quote attached', body: 'Hello {customer},\n\nthe quote for {ttn} is attached.' }, new Date().toISOString());
      await m.ingest(m.message({ From: 'Carl <carl@customer.example>', To: 'support@hotline.example', Subject: 'A quote, please' }, 'How much for toner?'));
      const [ticket] = await m.hotline.tickets.listAll({});
      const file = join(mkdtempSync(join(tmpdir(), 'hotline-attach-')), 'quote.pdf');
      writeFileSync(file, '%PDF-1.4 toner: 42 EUR');
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${mailBase}/login`);
      await page.getByLabel('Login').fill('alice');
      await page.getByLabel('Password').fill('alice-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.goto(`${mailBase}/tickets/${ticket!.ttn}`);
      await page.locator('.article.email-in').getByRole('link', { name: 'Reply', exact: true }).click();
      await page.getByLabel('Start from a canned answer').selectOption({ label: 'Quote attached' });
      await page.getByRole('button', { name: 'Use it' }).click();
      // Something typed before attaching: the page reloads, and it is still there.
      const typed = page.locator('form.reply textarea[name="text"]');
      await typed.fill((await typed.inputValue()).replace('is attached.', 'is attached. Valid for 30 days.'));
      await page.getByLabel('Attach a file to this reply').setInputFiles(file);
      await page.getByRole('button', { name: 'Attach', exact: true }).click();
      await expect.poll(() => page.locator('p.notice').textContent()).toContain('File attached');
      // forms.js puts what was typed back once it has run (the notice may be on screen a moment before).
      await expect.poll(() => page.locator('form.reply textarea[name="text"]').inputValue()).toContain(`Hello Carl,\n\nthe quote for ${ticket!.ttn} is attached. Valid for 30 days.`);
      const text = await page.locator('form.reply textarea[name="text"]').inputValue();
      expect(text).toMatch(/wrote:\n> How much for toner\?/);
      expect(await page.locator('form.reply').getByLabel(/quote\.pdf/).isChecked()).toBe(true);
      await page.getByRole('button', { name: 'Send reply' }).click();
      await expect.poll(() => page.locator('p.notice').textContent()).toBe('Reply queued for sending.');
      const sent = (await m.sent()).find((s) => s.mail.text.includes('is attached.'))!;
      expect(sent.mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['quote.pdf', '%PDF-1.4 toner: 42 EUR']]);
    } finally {
      await server.close();
      await m.close();
    }
  });
});
