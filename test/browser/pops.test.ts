import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import type { PopHarness } from '../helpers/pops.js';
import { popHarness } from '../helpers/pops.js';

let h: PopHarness;
let browser: Browser;
beforeAll(async () => {
  h = await popHarness();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('screen-pop in Chromium', () => {
  it('shows the pop on the agent\'s page before the phone rings, updates it, and opens the ticket from it', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Hanna', phones: ['+49 30 1234567'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Router reboots', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'email-in', text: 'Every night at 3.' } });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${h.base}/login`);
    await page.getByLabel('Login').fill('alice');
    await page.getByLabel('Password').fill('password123');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${h.base}/queues`);
    // pops.js marks the page once its live connection is up.
    await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });

    const call = await h.call(`${ticket.ttn}#`, '030 1234567');
    const pop = page.locator('#pops .pop');
    await expect.poll(() => pop.locator('h2').textContent(), { timeout: 5000 }).toBe(`Ticket#${ticket.ttn}`);
    expect(await pop.locator('.pop-ticket').textContent()).toBe('Router reboots (new, Billing)');
    expect(await pop.locator('.pop-customer').textContent()).toBe('Customer: Hanna');
    await call.waitFor('answered Local/201@phones');
    await expect.poll(() => pop.locator('.pop-status').textContent()).toBe('Answered — you are talking');

    await pop.getByRole('link', { name: 'Open ticket' }).click();
    await page.waitForURL(`${h.base}/tickets/${ticket.ttn}`);
    expect(await page.locator('h1').textContent()).toBe(`Ticket#${ticket.ttn} — Router reboots`);
    // The pop of the running call is shown again on the new page.
    await expect.poll(() => page.locator('#pops .pop h2').textContent()).toBe(`Ticket#${ticket.ttn}`);
    call.hangup();
    await expect.poll(() => page.locator('#pops .pop .pop-status').textContent()).toBe('Call ended');
  });
});

describe('a pop in German', () => {
  it('speaks the agent’s language: state, customer, the number’s warning, the call’s progress', async () => {
    await h.hotline.agents.update(h.agents.alice.id, { language: 'de' });
    try {
      const customer = await h.hotline.directory.createCustomer({ name: 'Hanna', phones: ['+49 30 7654321'] });
      const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Router startet neu', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'email-in', text: 'Jede Nacht um 3.' } });
      const page = await (await browser.newContext({ locale: 'de-DE' })).newPage();
      await page.goto(`${h.base}/login`);
      await page.getByLabel('Benutzername').fill('alice');
      await page.getByLabel('Passwort').fill('password123');
      await page.getByRole('button', { name: 'Anmelden' }).click();
      await page.waitForURL(`${h.base}/queues`);
      await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });
      const call = await h.call(`${ticket.ttn}#`, '030 1111111');
      const pop = page.locator('#pops .pop');
      await expect.poll(() => pop.locator('h2').textContent(), { timeout: 5000 }).toBe(`Ticket#${ticket.ttn}`);
      expect(await pop.locator('.pop-ticket').textContent()).toBe('Router startet neu (neu, Billing)');
      expect(await pop.locator('.pop-customer').textContent()).toBe('Kunde: Hanna');
      expect(await pop.locator('.pop-warning').textContent()).toMatch(/^Die Nummer des Anrufers .*1111111 ist bei Hanna nicht gespeichert\.$/);
      expect(await pop.locator('.pop-articles li').first().textContent()).toBe('E-Mail eingehend: Jede Nacht um 3.');
      await call.waitFor('answered Local/201@phones');
      await expect.poll(() => pop.locator('.pop-status').textContent()).toBe('Angenommen — Sie sprechen');
      expect(await pop.getByRole('link', { name: 'Ticket öffnen' }).count()).toBe(1);
      call.hangup();
      await expect.poll(() => pop.locator('.pop-status').textContent()).toBe('Anruf beendet');
      await page.context().close();
    } finally {
      await h.hotline.agents.update(h.agents.alice.id, { language: 'en' });
    }
  });
});

describe('pops that behave, in Chromium', () => {
  it('keep clear of the page, are dismissed for good (one, or all), and show what the customer wrote rather than call logs', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Ida', phones: ['+49 30 7777777'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Fax garbled', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'email-in', subject: 'Fax', text: 'Every fax comes out garbled.' } });
    // An earlier call on the ticket: its record is not what the pop shows.
    await h.hotline.tickets.addArticle(ticket.id, { kind: 'call', subject: 'Call answered', text: 'Call from 030 7777777\nKeyed: …' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${h.base}/login`);
    await page.getByLabel('Login').fill('alice');
    await page.getByLabel('Password').fill('password123');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.goto(`${h.base}/tickets?state=all`);
    await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });
    h.fake.phones.set('Local/201@phones', 'noanswer');
    const call = await h.call(`${ticket.ttn}#`, '030 7777777');
    const pop = page.locator('#pops section.pop');
    await expect.poll(() => pop.locator('h2').textContent()).toBe(`Ticket#${ticket.ttn}`);
    const articles = await pop.locator('.pop-articles li').allTextContents();
    expect(articles).toEqual(['E-mail in: Fax — Every fax comes out garbled.']);
    // Nothing of the page lies under the pop: its box and every control's box do not meet.
    const box = (await pop.boundingBox())!;
    for (const control of await page.locator('main a, main button, main input, main select').all()) {
      const b = await control.boundingBox();
      if (!b) continue;
      const overlaps = b.x < box.x + box.width && box.x < b.x + b.width && b.y < box.y + box.height && box.y < b.y + b.height;
      expect(overlaps, `${await control.evaluate((e) => e.outerHTML.slice(0, 80))} lies under the pop`).toBe(false);
    }
    // Dismissed: not back on the next page, nor in a second tab, while the call goes on.
    await pop.getByRole('button', { name: 'Dismiss this pop' }).click();
    await page.reload();
    await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });
    const second = await context.newPage();
    await second.goto(`${h.base}/queues`);
    await second.waitForSelector('html[data-live="on"]', { timeout: 10_000 });
    expect(await page.locator('#pops section.pop').count()).toBe(0);
    expect(await second.locator('#pops section.pop').count()).toBe(0);
    // A second call (the first one over): "Dismiss all" in one tab clears the other tab too.
    call.hangup();
    await h.callRecord(call.id, (c) => c.endedAt !== null);
    const other = await h.call(`${ticket.ttn}#`, '030 7777777');
    await expect.poll(() => second.locator('#pops section.pop').count()).toBe(1);
    await expect.poll(() => page.locator('#pops section.pop').count()).toBe(1);
    await second.getByRole('button', { name: 'Dismiss all pops' }).click();
    await expect.poll(() => page.locator('#pops section.pop').count()).toBe(0);
    await page.reload();
    await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });
    expect(await page.locator('#pops section.pop').count()).toBe(0);
    other.hangup();
    await context.close();
  });
});
