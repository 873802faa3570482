// German and English (#18 items 1 and 2): the agent's language chooses the pages, the login page
// follows Accept-Language, times come in one format per language in the agent's zone, messages and
// notices speak the reader's language, auto-replies the customer's, and admins can reword any text.
import { afterEach, describe, expect, it } from 'vitest';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import { fixedClock } from '../helpers/hotline.js';
import { mailTestScope } from '../helpers/mail.js';
import { pathOf } from '../helpers/web.js';

let w: WebHarness | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});
const scope = mailTestScope();

const newestTtn = (hotline: { db: { prepare(sql: string): { pluck(): { get(): unknown } } } }) => hotline.db.prepare('SELECT ttn FROM tickets ORDER BY id DESC LIMIT 1').pluck().get() as string;

/** The visible text of a page, tags dropped and spaces folded. */
const textOf = (html: string) => html.replace(/<script[\s\S]*?<\/script>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&[a-z]+;|&#\d+;/g, ' ').replace(/\s+/g, ' ');

describe('the agent UI in German and English', () => {
  it('speaks the agent’s language on every page, with <html lang>, and English to an English agent', async () => {
    w = await webHarness();
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const alice = await w.login('alice');
    const bob = await w.login('bob');
    const pages: Record<string, string[]> = {
      '/queues': ['Meine Tickets', 'Tickets ohne Besitzer', 'Zugriff'],
      '/tickets': ['Ausgewählte Tickets ändern', 'Diesen Filter speichern als', 'Priorität'],
      [`/tickets/${w.tickets.support.ttn}`]: ['Notiz hinzufügen', 'Per E-Mail antworten', 'Verlauf', 'E-Mail eingehend'],
      '/calls': ['Anrufe', 'Alle Anrufe meiner Queues', 'Verpasst'],
      '/notices': ['Hinweise', 'Worüber Sie informiert werden'],
      '/settings': ['Meine Einstellungen', 'Sprache', 'Zeitzone', 'Mein Passwort ändern'],
      '/tickets/new': ['Neues Telefonticket', 'Kunden nach Telefonnummer oder E-Mail suchen'],
    };
    for (const [url, german] of Object.entries(pages)) {
      const de = await alice.get(url);
      expect(de.statusCode, url).toBe(200);
      expect(de.body, url).toContain('<html lang="de">');
      for (const text of german) expect(textOf(de.body), `${url}: ${text}`).toContain(text);
      // No English left in the menu.
      expect(textOf(de.body), url).not.toContain('My settings');
    }
    const en = await bob.get('/queues');
    expect(en.body).toContain('<html lang="en">');
    expect(textOf(en.body)).toContain('Tickets nobody owns');
    expect(textOf(en.body)).not.toContain('Meine Tickets');
  });

  it('lets the agent choose language and time zone on My settings; times are in that zone and that language’s one format', async () => {
    const clock = fixedClock('2026-12-05T13:03:00.000Z');
    w = await webHarness({ clock, config: { timeZone: 'Europe/Berlin' } });
    const alice = await w.login('alice');
    const ticket = `/tickets/${w.tickets.support.ttn}`;
    // The site's zone (Berlin, UTC+1 in December), English format.
    expect(textOf((await alice.get(ticket)).body)).toContain('Created 2026-12-05 14:03');
    const saved = await alice.post('/settings', { language: 'de', timeZone: 'America/New_York' });
    expect(saved.statusCode).toBe(303);
    const de = textOf((await alice.get(pathOf(saved.headers.location))).body);
    expect(de).toContain('Ihre Einstellungen sind gespeichert.');
    expect(de).toContain('Jetzt: 05.12.2026 08:03');
    // New York is UTC-5: the same instant, German format, and how long ago where it helps.
    clock.set('2026-12-05T13:08:00.000Z');
    expect(textOf((await alice.get(ticket)).body)).toContain('Erstellt 05.12.2026 08:03 (vor 5 Minuten)');
    // A zone Node does not know is refused; the language stays one Hotline speaks.
    expect((await alice.post('/settings', { timeZone: 'Mars/Olympus' })).statusCode).toBe(400);
    expect((await alice.post('/settings', { language: 'xx' })).statusCode).toBe(400);
  });

  it('takes a reminder’s wall-clock time in the agent’s zone and stores it in UTC', async () => {
    w = await webHarness({ config: { timeZone: 'UTC' } });
    await w.hotline.agents.update(w.agents.alice.id, { timeZone: 'Europe/Berlin', language: 'de' });
    const alice = await w.login('alice');
    const ttn = w.tickets.support.ttn;
    const res = await alice.post(`/tickets/${ttn}/update`, { title: 'Printer on fire', state: 'pending', pendingUntil: '2026-12-24T09:00', priority: '3', ownerId: '', queueId: String(w.queues.support.id) });
    expect(res.statusCode).toBe(303);
    expect((await w.hotline.tickets.findByTtn(ttn))!.pendingUntil).toBe('2026-12-24T08:00:00.000Z');
    const page = (await alice.get(`/tickets/${ttn}`)).body;
    expect(page).toContain('name="pendingUntil" value="2026-12-24T09:00"');
    expect(textOf(page)).toContain('Erinnerung 24.12.2026 09:00');
    expect(textOf(page)).toContain('Erinnerung gesetzt auf 24.12.2026 09:00');
    expect(textOf(page)).toContain('Wartend bis (Europe/Berlin;');
  });

  it('shows the login page in the browser’s language, or the one chosen there, and says what went wrong in it', async () => {
    w = await webHarness();
    const asDe = await w.server.inject({ url: '/login', headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' } });
    expect(asDe.body).toContain('<html lang="de">');
    expect(textOf(asDe.body)).toContain('Anmelden Benutzername');
    const asFr = await w.server.inject({ url: '/login', headers: { 'accept-language': 'fr-FR, de;q=0.5, en;q=0.7' } });
    expect(asFr.body).toContain('<html lang="en">');
    // Chosen on the page: kept in a cookie for the login's answers.
    const chosen = await w.server.inject({ url: '/login?lang=de', headers: { 'accept-language': 'en' } });
    expect(chosen.body).toContain('<html lang="de">');
    const langCookie = (chosen.headers['set-cookie'] as string[]).find((c) => c.startsWith('hotline_lang='))!.split(';')[0]!;
    const tokenCookie = (chosen.headers['set-cookie'] as string[]).find((c) => c.startsWith('hotline_login='))?.split(';')[0];
    const token = /name="_csrf" value="([^"]+)"/.exec(chosen.body)![1]!;
    const wrong = await w.server.inject({ method: 'POST', url: '/login', headers: { cookie: [langCookie, tokenCookie].filter(Boolean).join('; '), 'accept-language': 'en' }, payload: { login: 'alice', password: 'nope', _csrf: token } });
    expect(textOf(wrong.body)).toContain('Benutzername oder Passwort falsch.');
    const unknown = await w.server.inject({ url: '/nowhere', headers: { 'accept-language': 'de' } });
    expect(unknown.statusCode).toBe(404);
    expect(textOf(unknown.body)).toContain('Es gibt keine Seite /nowhere.');
  });

  it('says what went wrong in the agent’s language, and what was done', async () => {
    w = await webHarness();
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const alice = await w.login('alice');
    const missing = await alice.get('/tickets/999999999');
    expect(missing.statusCode).toBe(404);
    expect(textOf(missing.body)).toContain('Nicht gefunden');
    const bulk = await alice.post('/tickets/bulk', { ttn: [w.tickets.support.ttn, w.tickets.billing.ttn] as unknown as string, state: 'closed', back: '/tickets' });
    expect(textOf(bulk.body)).toContain('1 Ticket geändert, 1 nicht.');
    expect(textOf(bulk.body)).toContain(`Kein Ticket ${w.tickets.billing.ttn}`);
    const note = await alice.post(`/tickets/${w.tickets.support.ttn}/notes`, { text: 'Läuft.' });
    expect(textOf((await alice.get(pathOf(note.headers.location))).body)).toContain('Notiz hinzugefügt.');
  });

  it('writes a notice in its agent’s language', async () => {
    w = await webHarness();
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const root = await w.login('root');
    await root.post(`/tickets/${w.tickets.support.ttn}/update`, { title: 'Printer on fire', state: 'open', priority: '3', ownerId: String(w.agents.alice.id), queueId: String(w.queues.support.id) });
    await w.hotline.events.idle();
    const [notice] = await w.hotline.notices.list(w.agents.alice.id, 10, 0);
    expect(notice!.text).toBe(`Ticket ${w.tickets.support.ttn} „Printer on fire“ gehört jetzt Ihnen (Root).`);
  });
});

describe('texts admins reword', () => {
  it('uses an admin’s wording at once, keeps its placeholders, and goes back to the shipped text', async () => {
    w = await webHarness();
    const root = await w.login('root');
    const list = await root.get('/admin/texts?lang=de&q=layout.nav.calls');
    expect(textOf(list.body)).toContain('layout.nav.calls');
    const saved = await root.post('/admin/texts', { lang: 'de', key: 'layout.nav.calls', text: 'Telefonate', back: '/admin/texts?lang=de' });
    expect(saved.statusCode).toBe(303);
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const alice = await w.login('alice');
    expect(textOf((await alice.get('/queues')).body)).toContain('Telefonate');
    // English is untouched.
    expect(textOf((await (await w.login('bob')).get('/queues')).body)).toContain('Calls');
    // A text that drops its placeholder would show a hole: refused, said why.
    const hole = await root.post('/admin/texts', { lang: 'en', key: 'layout.logout', text: 'Leave' });
    expect(hole.statusCode).toBe(400);
    expect(textOf(hole.body)).toContain('keep the placeholder login');
    expect(textOf((await root.get('/admin/texts?lang=de&changed=1')).body)).toContain('Telefonate');
    await root.post('/admin/texts', { lang: 'de', key: 'layout.nav.calls', text: '', reset: '1' });
    expect(textOf((await alice.get('/queues')).body)).toContain('Anrufe');
    expect(await w.hotline.texts.all()).toEqual([]);
  });
});

describe('a customer’s language, set by an admin', () => {
  it('is chosen on the customers page, checked, and can go back to “from each mail”', async () => {
    w = await webHarness();
    const customer = await w.hotline.directory.createCustomer({ name: 'Anna Kunde', emails: ['anna@kunde.example'], phones: [] });
    const root = await w.login('root');
    expect((await root.post(`/admin/customers/${customer.id}/language`, { language: 'de' })).statusCode).toBe(303);
    expect((await w.hotline.directory.findCustomer(customer.id))!.language).toBe('de');
    expect((await root.get('/admin/customers')).body).toMatch(/<option value="de" selected>Deutsch<\/option>/);
    const refused = await root.post(`/admin/customers/${customer.id}/language`, { language: 'fr' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('language: must be one of en, de');
    expect((await root.post(`/admin/customers/${customer.id}/language`, { language: '' })).statusCode).toBe(303);
    expect((await w.hotline.directory.findCustomer(customer.id))!.language).toBeNull();
    // Agents may not.
    const alice = await w.login('alice');
    expect((await alice.post(`/admin/customers/${customer.id}/language`, { language: 'de' })).statusCode).toBe(403);
  });
});

describe('auto-replies in the customer’s language', () => {
  it('answers German mail in German, English in English, and follows Content-Language and the customer’s known language', async () => {
    const m = await scope.harness();
    const send = async (from: string, subject: string, text: string, headers: Record<string, string> = {}) => {
      expect((await m.ingest(m.message({ From: from, To: 'support@hotline.example', Subject: subject, ...headers }, text))).outcome).toBe('ticket');
      const ttn = newestTtn(m.hotline);
      return (await m.sent()).find((s) => s.mail.subject.includes(ttn))!.mail.text;
    };
    expect(await send('anna@kunde.example', 'Drucker defekt', 'Guten Tag, unser Drucker im zweiten Stock druckt seit Montag nur noch leere Seiten. Können Sie bitte jemanden vorbeischicken?')).toMatch(/^Hallo anna@kunde\.example,\n\nvielen Dank für Ihre Nachricht/);
    expect(await send('bill@customer.example', 'Printer broken', 'Hello, the printer on the second floor has only printed blank pages since Monday. Could you please send someone over?')).toMatch(/^Hello bill@customer\.example,\n\nthank you for your message/);
    // Too short to tell by its words: the header says German.
    expect(await send('chris@kunde.example', 'Hilfe', 'Bitte!', { 'Content-Language': 'de-DE' })).toMatch(/^Hallo/);
    // Anna is known to write German (her first mail): a short English line of hers is answered in German.
    expect(await send('anna@kunde.example', 'printer', 'Any news on this one?')).toMatch(/^Hallo/);
    expect((await m.hotline.directory.findCustomerByEmail('anna@kunde.example'))!.language).toBe('de');
    // Undecided: English.
    expect(await send('dora@somewhere.example', 'x', 'ok')).toMatch(/^Hello/);
  });

  it('uses the admins’ wording of the built-in auto-reply', async () => {
    const m = await scope.harness();
    await m.hotline.texts.save('de', 'mail.autoReply', 'Moin {name}, Ihr Ticket: {ttn}.', new Date().toISOString());
    await m.hotline.reloadTexts();
    await m.ingest(m.message({ From: 'anna@kunde.example', To: 'support@hotline.example', Subject: 'Drucker', 'Content-Language': 'de' }, 'Er druckt nicht.'));
    const ttn = newestTtn(m.hotline);
    const reply = (await m.sent()).find((s) => s.mail.subject.includes(ttn))!;
    expect(reply.mail.text.trim()).toBe(`Moin anna@kunde.example, Ihr Ticket: ${ttn}.`);
  });
});
