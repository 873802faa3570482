import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';

const run = promisify(execFile);
let w: WebHarness;
let base: string;
let dir: string;

// Every test gets a service and data of its own (no test sees another's changes).
beforeEach(async () => {
  if (!existsSync('/usr/bin/w3m')) throw new Error('/usr/bin/w3m is missing: install Debian\'s w3m (apt-get install -y w3m), as .ci/run does');
  w = await webHarness();
  base = await w.server.listen({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'hotline-w3m-'));
  writeFileSync(join(dir, 'config'), 'accept_cookie 1\naccept_bad_cookie 1\nuse_cookie 1\n');
});
afterEach(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Logs in with w3m's own form POST and prints the page it lands on (`next`), as a person reads it. */
async function w3mAfterLogin(login: string, next: string): Promise<string> {
  const form = join(dir, `login-${login}`);
  // The form's page first, as a person opens it: its token, and the cookie w3m keeps for it.
  const w3m = { env: { ...process.env, HOME: dir, W3M_DIR: dir }, timeout: 20_000 };
  const source = (await run('w3m', ['-config', join(dir, 'config'), '-cookie', '-dump_source', `${base}/login`], w3m)).stdout;
  const token = /name="_csrf" value="([^"]+)"/.exec(source)![1]!;
  writeFileSync(form, `login=${login}&password=${login}-password&_csrf=${encodeURIComponent(token)}&next=${encodeURIComponent(next)}`);
  const { stdout } = await run('w3m', ['-config', join(dir, 'config'), '-cols', '160', '-cookie', '-post', form, '-dump', `${base}/login`], {
    env: { ...process.env, HOME: dir, W3M_DIR: dir },
    timeout: 20_000,
  });
  return stdout;
}

describe('the core pages in w3m', () => {
  it('shows the login form as text', async () => {
    const { stdout } = await run('w3m', ['-dump', `${base}/login`], { env: { ...process.env, HOME: dir }, timeout: 20_000 });
    expect(stdout).toContain('Log in');
    expect(stdout).toMatch(/Login\s*\n?.*\[/);
  });

  it('logs in and lists a queue', async () => {
    const text = await w3mAfterLogin('alice', `/tickets?queue=${w.queues.support.id}`);
    expect(text).toContain('Queue Support');
    expect(text).toContain(w.tickets.support.ttn);
    expect(text).toContain('Printer on fire');
    expect(text).not.toContain(w.tickets.billing.ttn);
  });

  it('logs in and reads a ticket', async () => {
    const text = await w3mAfterLogin('alice', `/tickets/${w.tickets.support.ttn}`);
    expect(text).toContain(`Ticket#${w.tickets.support.ttn} — Printer on fire`);
    expect(text).toContain('It smokes.');
    expect(text).toContain('Carl Customer');
    expect(text).toContain('Add a note');
  });
});

describe('the pages in German in w3m', () => {
  it('shows the login page in the language w3m asks for, and a German agent’s pages in German', async () => {
    const { stdout } = await run('w3m', ['-o', 'accept_language=de-DE,de;q=0.9', '-dump', `${base}/login`], { env: { ...process.env, HOME: dir }, timeout: 20_000 });
    expect(stdout).toContain('Anmelden');
    expect(stdout).toContain('Benutzername');
    expect(stdout).toContain('Passwort');
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const text = await w3mAfterLogin('alice', `/tickets/${w.tickets.support.ttn}`);
    for (const german of ['Abmelden (alice)', 'Meine Einstellungen', 'Verlauf', 'Notiz hinzufügen', 'Per E-Mail antworten', 'E-Mail eingehend', 'Priorität']) expect(text).toContain(german);
    expect(text).not.toContain('Add a note');
  });
});

describe("the agents' pages in w3m", () => {
  it('shows a sorted ticket list with its total, its headings as links, and the form to change ticked tickets', async () => {
    const text = await w3mAfterLogin('alice', '/tickets?sort=priority&dir=desc');
    expect(text).toContain('Tickets 1–1 of 1');
    expect(text).toMatch(/Priority ▼/);
    expect(text).toContain('Change the selected tickets');
    expect(text).toContain('[ ]');
    expect(text).toContain('Save this filter as');
    // A button that needs JavaScript is not on a page read without it.
    expect(text).not.toContain('Desktop notifications');
  });

  it('shows a ticket with its history beside the articles and a reply with the mail quoted', async () => {
    await w.hotline.tickets.change(w.tickets.support.id, { state: 'open', priority: 5 }, { agentId: w.agents.alice.id });
    const article = (await w.hotline.tickets.articles(w.tickets.support.id))[0]!;
    const text = await w3mAfterLogin('alice', `/tickets/${w.tickets.support.ttn}?compose=reply&article=${article.id}`);
    expect(text).toContain('History');
    expect(text).toContain('Alice: State: new → open');
    expect(text).toContain('Alice: Priority: 3 → 5');
    expect(text).toMatch(/Reply\s*·\s*Reply all\s*·\s*Forward/);
    expect(text).toContain('> It smokes.');
  });

  it('shows the notices page', async () => {
    await w.hotline.tickets.change(w.tickets.support.id, { ownerId: w.agents.alice.id }, 'system');
    await w.hotline.events.idle();
    expect(await w3mAfterLogin('alice', '/notices')).toContain(`Ticket ${w.tickets.support.ttn} “Printer on fire” is yours now (Hotline).`);
  });

  it('shows the settings page', async () => {
    const settings = await w3mAfterLogin('alice', '/settings');
    expect(settings).toContain('Also by e-mail to alice@hotline.example');
    expect(settings).toContain('Tell me of every new ticket in:');
  });
});
