// Replying like a helpdesk (#17 item 3): reply, reply-all and forward of a chosen article with its
// text quoted, files attached to a reply, canned answers with placeholders, a signature per queue.
import { pathOf } from '../helpers/web.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import type { MailHarness } from '../helpers/mail.js';
import { mailHarness } from '../helpers/mail.js';
import { injectLogin, sessionCookie } from '../helpers/login.js';

let m: MailHarness;
let server: FastifyInstance;
beforeEach(async () => {
  m = await mailHarness();
  server = await buildServer(m.hotline, { mail: m.mail });
});
afterEach(async () => {
  await server.close();
  await m.close();
});

const unescape = (s: string) => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');

/** An agent of Support (rw), logged in. */
async function agent(login = 'alice', role: 'agent' | 'admin' = 'agent') {
  const { agent: a } = await m.hotline.agents.create({ login, name: login[0]!.toUpperCase() + login.slice(1), role, password: 'password123', email: `${login}@hotline.example` });
  await m.hotline.directory.setAccess(a.id, m.queues.support.id, 'rw');
  const res = await injectLogin(server, login, 'password123');
  const cookie = sessionCookie(res.headers['set-cookie'] as string[]);
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await server.inject({ url: '/queues', headers: { cookie } })).body)![1]!;
  return {
    agent: a,
    csrf,
    get: (url: string) => server.inject({ url, headers: { cookie } }),
    post: (url: string, fields: URLSearchParams | Record<string, string>) =>
      server.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() }),
    /** A file upload, as a browser sends the attach form. */
    upload: (url: string, files: Array<{ name: string; type: string; content: Buffer }>) => {
      const boundary = 'hotline-test-boundary';
      const parts = files.map((f) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${f.name}"\r\nContent-Type: ${f.type}\r\n\r\n`), f.content, Buffer.from('\r\n')]));
      return server.inject({ method: 'POST', url, headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]) });
    },
  };
}

/** The reply form of a ticket page, as a browser would send it (ticked boxes only). */
function replyForm(body: string): URLSearchParams {
  const form = /<form method="post" action="\/tickets\/\d+\/reply" class="reply">([\s\S]*?)<\/form>/.exec(body)?.[1];
  if (!form) throw new Error('no reply form on the page');
  const out = new URLSearchParams();
  for (const m of form.matchAll(/<input([^>]*)>/g)) {
    const name = /name="([^"]+)"/.exec(m[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
    if (!name || (/type="checkbox"/.test(m[1]!) && !/ checked/.test(m[1]!))) continue;
    out.append(name, unescape(value));
  }
  for (const t of form.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) out.append(t[1]!, unescape(t[2]!));
  return out;
}

/** A customer mail to Support with a Cc, filed as a ticket; its article. */
async function customerMail(extra: Record<string, string> = {}, body = 'It smokes.\nSince Monday.') {
  await m.ingest(m.message({ From: 'Carl <carl@customer.example>', To: 'support@hotline.example, Dora <dora@customer.example>', Cc: 'Boss <boss@customer.example>, billing@hotline.example', Subject: 'Printer on fire', ...extra }, body));
  const [ticket] = await m.hotline.tickets.listAll({});
  const article = (await m.hotline.tickets.articles(ticket!.id)).find((a) => a.kind === 'email-in')!;
  return { ticket: ticket!, article };
}

describe('replying to a chosen article', () => {
  it('quotes it, answers its sender (reply) or everyone but Hotline (reply-all), and threads the mail on it', async () => {
    const { ticket, article } = await customerMail();
    const alice = await agent();
    const page = (await alice.get(`/tickets/${ticket.ttn}?compose=reply-all&article=${article.id}`)).body;
    expect(page).toContain(`href="/tickets/${ticket.ttn}?compose=reply&amp;article=${article.id}#compose">Reply</a>`);
    const form = replyForm(page);
    expect(form.get('to')).toBe('carl@customer.example');
    expect(form.get('cc')).toBe('dora@customer.example, boss@customer.example');
    expect(form.get('text')).toMatch(/^Hello Carl,\n\n\n\nOn \d{4}-\d\d-\d\d \d\d:\d\d, Carl <carl@customer.example> wrote:\n> It smokes.\n> Since Monday.$/);
    expect(replyForm((await alice.get(`/tickets/${ticket.ttn}?compose=reply&article=${article.id}`)).body).get('cc')).toBe('');
    form.set('text', form.get('text')!.replace('Hello Carl,\n\n', 'Hello Carl,\n\nWe are on it.'));
    expect((await alice.post(`/tickets/${ticket.ttn}/reply`, form)).statusCode).toBe(303);
    const sent = (await m.sent()).find((s) => s.mail.text.includes('We are on it.'))!;
    expect(sent.mail.to).toEqual(['carl@customer.example']);
    expect(sent.mail.cc).toEqual(['dora@customer.example', 'boss@customer.example']);
    expect(sent.mail.inReplyTo).toBe(article.messageId);
    expect(sent.mail.text).toContain('> Since Monday.');
    // The outgoing article keeps To and Cc apart, as the incoming one does.
    const out = (await m.hotline.tickets.articles(ticket.id)).find((a) => a.kind === 'email-out' && a.authorAgentId === alice.agent.id)!;
    expect([out.to, out.cc]).toEqual(['carl@customer.example', 'dora@customer.example, boss@customer.example']);
    expect([article.to, article.cc]).toEqual(['support@hotline.example, dora@customer.example', 'boss@customer.example, billing@hotline.example']);
  });

  it('forwards an article with its files, and says Fwd:', async () => {
    const attachment = 'Content-Type: multipart/mixed; boundary="mix"';
    const body = '--mix\r\nContent-Type: text/plain\r\n\r\nSee the photo.\r\n--mix\r\nContent-Type: image/png; name="printer.png"\r\nContent-Disposition: attachment; filename="printer.png"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--mix--';
    await m.ingest(Buffer.from(`From: Carl <carl@customer.example>\r\nTo: support@hotline.example\r\nSubject: Printer photo\r\nMessage-ID: <photo@customer.example>\r\n${attachment}\r\n\r\n${body}\r\n`));
    const [ticket] = await m.hotline.tickets.listAll({});
    const article = (await m.hotline.tickets.articles(ticket!.id)).find((a) => a.kind === 'email-in')!;
    const alice = await agent();
    const page = (await alice.get(`/tickets/${ticket!.ttn}?compose=forward&article=${article.id}`)).body;
    const form = replyForm(page);
    expect(form.get('to')).toBe('');
    expect(form.get('subject')).toBe(`Fwd: [Ticket#${ticket!.ttn}] Printer photo`);
    expect(form.get('text')).toContain('---------- Forwarded message ----------\nFrom: Carl <carl@customer.example>');
    expect(form.getAll('forward')).toHaveLength(1);
    form.set('to', 'vendor@printers.example');
    expect((await alice.post(`/tickets/${ticket!.ttn}/reply`, form)).statusCode).toBe(303);
    const sent = (await m.sent()).find((s) => s.mail.to.includes('vendor@printers.example'))!;
    expect(sent.mail.subject).toBe(`Fwd: [Ticket#${ticket!.ttn}] Printer photo`);
    expect(sent.mail.attachments.map((a) => a.filename)).toEqual(['printer.png']);
    // The forward shows on the ticket with the file it carried.
    const out = (await m.hotline.tickets.articles(ticket!.id)).find((a) => a.kind === 'email-out' && a.authorAgentId !== null)!;
    expect((await m.hotline.tickets.attachments(ticket!.ttn, 'system')).filter((f) => f.articleId === out.id).map((f) => f.filename)).toEqual(['printer.png']);
    // A file of another ticket cannot be sent along.
    const other = (await m.hotline.tickets.create({ queueId: m.queues.support.id, title: 'Other', article: { kind: 'note', text: '' } })).ticket;
    const bad = await alice.post(`/tickets/${other.ttn}/reply`, { _csrf: alice.csrf, to: 'x@example.org', text: 'Here.', forward: form.get('forward')! });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('is not on this ticket');
  });
});

describe('files on a reply', () => {
  it('keeps uploaded files for the reply until it is sent, sends them once, and only the agent\'s own', async () => {
    const { ticket } = await customerMail();
    const alice = await agent();
    const bob = await agent('bob');
    const pdf = Buffer.from('%PDF-1.4 quote');
    const up = await alice.upload(`/tickets/${ticket.ttn}/drafts?_csrf=${encodeURIComponent(alice.csrf)}`, [
      { name: 'quote.pdf', type: 'application/pdf', content: pdf },
      { name: 'notes.txt', type: 'text/plain', content: Buffer.from('two') },
    ]);
    expect(up.statusCode).toBe(303);
    expect(pathOf(up.headers.location)).toBe(`/tickets/${ticket.ttn}?done=file-attached#compose`);
    // Without the form's token nothing is stored.
    expect((await alice.upload(`/tickets/${ticket.ttn}/drafts`, [{ name: 'x.txt', type: 'text/plain', content: Buffer.from('x') }])).statusCode).toBe(403);
    const page = (await alice.get(`/tickets/${ticket.ttn}`)).body;
    expect(page).toContain('quote.pdf (14 bytes)');
    expect((await bob.get(`/tickets/${ticket.ttn}`)).body).not.toContain('quote.pdf');
    const form = replyForm(page);
    expect(form.getAll('attach')).toHaveLength(2);
    // Bob cannot send Alice's files.
    const stolen = await bob.post(`/tickets/${ticket.ttn}/reply`, { _csrf: bob.csrf, to: 'carl@customer.example', text: 'Yours.', attach: form.getAll('attach')[0]! });
    expect(stolen.statusCode).toBe(400);
    // Alice unticks one: it stays for later; the ticked one goes.
    form.delete('attach');
    const kept = /name="attach" value="(\d+)" checked> notes.txt/.exec(page)![1]!;
    form.append('attach', /name="attach" value="(\d+)" checked> quote.pdf/.exec(page)![1]!);
    form.set('text', 'The quote is attached.');
    expect((await alice.post(`/tickets/${ticket.ttn}/reply`, form)).statusCode).toBe(303);
    const sent = (await m.sent()).filter((s) => s.mail.text.startsWith('The quote is attached.'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['quote.pdf', '%PDF-1.4 quote']]);
    expect((await m.hotline.drafts.list(alice.agent.id, ticket.id)).map((d) => [String(d.id), d.filename])).toEqual([[kept, 'notes.txt']]);
    // Sent once: the same form again cannot send the file twice.
    expect((await alice.post(`/tickets/${ticket.ttn}/reply`, form)).statusCode).toBe(400);
    // Removed by hand.
    expect((await alice.post(`/tickets/${ticket.ttn}/drafts/${kept}/delete`, { _csrf: alice.csrf })).statusCode).toBe(303);
    expect(await m.hotline.drafts.list(alice.agent.id, ticket.id)).toEqual([]);
  });
});

describe('canned answers and signatures', () => {
  it('fills a canned answer of the ticket\'s queue (or of every queue) and the queue\'s signature with the customer, the TTN and the agent', async () => {
    const { ticket } = await customerMail();
    const root = await agent('root', 'admin');
    await root.post(`/admin/queues/${m.queues.support.id}`, { _csrf: root.csrf, name: 'Support', email: 'support@hotline.example', signature: 'Regards,\n{agent}\n{queue} team' });
    expect((await root.post('/admin/canned', { _csrf: root.csrf, queueId: String(m.queues.support.id), name: 'Printer fixed', body: 'Hello {customer},\n\nyour printer ({ttn}) works again.' })).statusCode).toBe(303);
    await root.post('/admin/canned', { _csrf: root.csrf, queueId: '', name: 'Thanks', body: 'Thank you, {customer}.' });
    await root.post('/admin/canned', { _csrf: root.csrf, queueId: String(m.queues.billing.id), name: 'Invoice copy', body: 'Here is the invoice.' });
    const alice = await agent();
    const page = (await alice.get(`/tickets/${ticket.ttn}`)).body;
    const offered = [...(/<form method="get"[^>]*class="canned">([\s\S]*?)<\/form>/.exec(page)?.[1] ?? '').matchAll(/<option value="(\d+)"[^>]*>([^<]*)</g)].map((o) => o[2]);
    expect(offered).toEqual(['Printer fixed', 'Thanks']);
    expect(replyForm(page).get('text')).toBe('Hello Carl,\n\n\n\n-- \nRegards,\nAlice\nSupport team');
    const id = /<option value="(\d+)"[^>]*>Printer fixed</.exec(page)![1]!;
    const filled = replyForm((await alice.get(`/tickets/${ticket.ttn}?canned=${id}`)).body).get('text');
    expect(filled).toBe(`Hello Carl,\n\nyour printer (${ticket.ttn}) works again.\n\n\n\n-- \nRegards,\nAlice\nSupport team`);
    // A canned answer of another queue is not there for this ticket.
    const invoice = (await m.hotline.cannedAnswers.list()).find((c) => c.name === 'Invoice copy')!;
    expect((await alice.get(`/tickets/${ticket.ttn}?canned=${invoice.id}`)).body).not.toContain('Here is the invoice.');
  });

  it('lets admins write, change and delete canned answers, and nobody else', async () => {
    const root = await agent('root', 'admin');
    const alice = await agent();
    expect((await alice.post('/admin/canned', { _csrf: alice.csrf, name: 'Mine', body: 'x' })).statusCode).toBe(403);
    expect((await root.post('/admin/canned', { _csrf: root.csrf, name: '', body: 'x' })).statusCode).toBe(400);
    expect((await root.post('/admin/canned', { _csrf: root.csrf, name: 'Hello', queueId: '99999', body: 'x' })).statusCode).toBe(400);
    await root.post('/admin/canned', { _csrf: root.csrf, name: 'Hello', body: 'Hi {customer}' });
    const [c] = await m.hotline.cannedAnswers.list();
    await root.post(`/admin/canned/${c!.id}`, { _csrf: root.csrf, name: 'Greeting', queueId: String(m.queues.support.id), body: 'Good day, {customer}' });
    expect(await m.hotline.cannedAnswers.list()).toMatchObject([{ name: 'Greeting', queueId: m.queues.support.id, body: 'Good day, {customer}' }]);
    expect((await root.get('/admin/canned')).body).toContain('Good day, {customer}');
    await root.post(`/admin/canned/${c!.id}/delete`, { _csrf: root.csrf });
    expect(await m.hotline.cannedAnswers.list()).toEqual([]);
  });
});
