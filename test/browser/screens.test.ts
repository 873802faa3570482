// Small screens and dark mode (#18 item 6): the agent pages fit a phone (360–390 px) with nothing to
// scroll sideways, and follow the system's dark setting. Screenshots at 1280 and 390 px are kept as
// test artefacts in test-artifacts/screenshots/ (not checked in).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';

const SHOTS = join(process.cwd(), 'test-artifacts', 'screenshots');
let w: WebHarness;
let base: string;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  w = await webHarness();
  base = await w.server.listen({ host: '127.0.0.1', port: 0 });
  mkdirSync(SHOTS, { recursive: true });
  // What a working day leaves on the pages: long titles and addresses, history, a note, notices.
  const { hotline, queues, agents, customer } = w;
  for (let i = 0; i < 12; i++) {
    const { ticket } = await hotline.tickets.create({ queueId: queues.support.id, title: `Printer on the third floor prints every page twice since the update ${i}`, customerId: customer.id, article: { kind: 'email-in', from: 'Carl Customer <carl.customer.with.a.long.address@example.org>', subject: 'Printer', text: 'It prints everything twice. '.repeat(20) } });
    await hotline.tickets.change(ticket.id, { state: 'open', priority: 1 + (i % 5), ownerId: agents.alice.id }, 'system');
  }
  await hotline.events.idle();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** Alice logged in, her pages in `lang`; the browser asks for that language too (so the login page is in it). */
async function loggedIn(width: number, dark = false, lang: 'en' | 'de' = 'en'): Promise<Page> {
  await w.hotline.agents.update(w.agents.alice.id, { language: lang });
  const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme: dark ? 'dark' : 'light', locale: lang === 'de' ? 'de-DE' : 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel(lang === 'de' ? 'Benutzername' : 'Login').fill('alice');
  await page.getByLabel(lang === 'de' ? 'Passwort' : 'Password').fill('alice-password');
  await page.getByRole('button', { name: lang === 'de' ? 'Anmelden' : 'Log in' }).click();
  await page.waitForURL(`${base}/queues`);
  return page;
}

/** The page's width and the window's, and what sticks out (for the message when it does). */
const WIDTHS = `(() => {
  const inner = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > inner + 0.5 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible').slice(0, 6).map((e) => e.tagName + (e.className ? '.' + e.className : '') + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right) + '/' + e.scrollWidth + '>' + e.clientWidth);
  return { scroll: document.documentElement.scrollWidth, inner, wide };
})()`;

const PAGES = (ttn: string, article: number) => ['/queues', '/tickets?state=all', `/tickets/${ttn}`, `/tickets/${ttn}?compose=reply&article=${article}`, '/tickets/new', '/calls', '/notices', '/settings'];

describe('small screens and dark mode in Chromium', () => {
  it.each(['en', 'de'] as const)('fits every agent page (%s) into 360 and 390 px without scrolling sideways, and keeps the screenshots', async (lang) => {
    const ticket = (await w.hotline.tickets.listAll({ limit: 1 }))[0]!;
    const ttn = ticket.ttn;
    const article = (await w.hotline.tickets.articles(ticket.id))[0]!.id;
    for (const width of [1280, 390, 360]) {
      const page = await loggedIn(width, false, lang);
      for (const path of PAGES(ttn, article)) {
        const res = await page.goto(`${base}${path}`);
        expect(res!.status(), path).toBe(200);
        expect(await page.getAttribute('html', 'lang')).toBe(lang);
        const { scroll, inner, wide } = (await page.evaluate(WIDTHS)) as { scroll: number; inner: number; wide: string[] };
        expect(scroll, `${path} (${lang}) at ${width} px is ${scroll} px wide: ${wide.join(' | ')}`).toBeLessThanOrEqual(inner);
        if (width !== 360) await page.screenshot({ path: join(SHOTS, `${lang}-${width}${path.replace(/[^\w]+/g, '_')}.png`), fullPage: true });
      }
      await page.context().close();
    }
  });

  it('follows the system\'s dark setting', async () => {
    const page = await loggedIn(1280, true);
    await page.goto(`${base}/tickets?state=all`);
    const colours = (await page.evaluate(`(() => {
      const lum = (css) => { const [r, g, b] = css.match(/\\d+/g).map(Number); return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
      return { page: lum(getComputedStyle(document.body).backgroundColor), text: lum(getComputedStyle(document.body).color), table: lum(getComputedStyle(document.querySelector('table')).backgroundColor) };
    })()`)) as { page: number; text: number; table: number };
    expect(colours.page).toBeLessThan(0.15);
    expect(colours.table).toBeLessThan(0.2);
    expect(colours.text).toBeGreaterThan(0.8);
    await page.screenshot({ path: join(SHOTS, '1280_dark_tickets.png') });
    await page.context().close();
  });
});
