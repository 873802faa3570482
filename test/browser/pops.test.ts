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
