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
