import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import { pathOf } from '../helpers/web.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';
import type { MailHarness } from '../helpers/mail.js';
import { mailHarness } from '../helpers/mail.js';

let m: MailHarness;
beforeEach(async () => {
  m = await mailHarness();
});
afterEach(async () => m.close());

/** A first message that opens a ticket; returns the ticket and the auto-reply sent for it. */
async function opened(subject = 'Printer on fire', from = 'carl@customer.example') {
  const raw = m.message({ From: `Carl <${from}>`, To: 'support@hotline.example', Subject: subject }, 'It smokes.');
  const { id } = await m.ingest(raw);
  const ticketId = m.hotline.db.prepare('SELECT ticket_id FROM raw_messages WHERE id = ?').pluck().get(id) as number;
  const ticket = (await m.hotline.tickets.findById(ticketId))!;
  const replies = await m.sent();
  return { ticket, autoReply: replies.find((r) => r.mail.subject.includes(ticket.ttn)) };
}

describe('mail in over real SMTP', () => {
  it('turns a message sent by nodemailer into a ticket in the queue of its address, with an auto-reply carrying the TTN', async () => {
    const info = await m.transport.sendMail({
      from: 'Dora Debtor <dora@customer.example>',
      to: 'billing@hotline.example',
      subject: 'Invoice charged twice',
      text: 'Invoice 2026-118 appears twice.',
      html: '<p>Invoice <b>2026-118</b> appears twice.<script>alert(1)</script></p>',
      attachments: [{ filename: 'statement.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), contentType: 'image/png' }],
    });
    expect(info.response).toMatch(/^250 2\.0\.0 stored as \d+/);
    await expect.poll(() => m.ticketCount()).toBe(1);
    const [ticket] = await m.hotline.tickets.listAll({});
    expect(ticket).toMatchObject({ title: 'Invoice charged twice', queueId: m.queues.billing.id, state: 'new' });
    const customer = await m.hotline.directory.findCustomer(ticket!.customerId!);
    expect(customer).toMatchObject({ name: 'Dora Debtor', emails: ['dora@customer.example'] });
    const [article] = await m.hotline.tickets.articles(ticket!.id);
    expect(article).toMatchObject({ kind: 'email-in', subject: 'Invoice charged twice', messageId: info.messageId });
    expect(article!.html).toContain('<b>2026-118</b>');
    expect(article!.html).not.toContain('script');
    expect((await m.hotline.tickets.attachments(ticket!.ttn, 'system')).map((a) => a.filename)).toEqual(['statement.png']);

    await expect.poll(async () => (await m.sent()).length).toBe(1);
    const [reply] = await m.sent();
    expect(reply!.mail.subject).toBe(`[Ticket#${ticket!.ttn}] Invoice charged twice`);
    expect(reply!.mail.to).toEqual(['dora@customer.example']);
    expect(reply!.mail.from?.address).toBe('billing@hotline.example');
    expect(reply!.mail.inReplyTo).toBe(info.messageId);
    expect(reply!.mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(reply!.mail.text).toContain(ticket!.ttn);
  });

  it('refuses a message over the size limit with 552 and stores nothing', async () => {
    await m.close();
    m = await mailHarness({ mailMaxBytes: 2048 });
    await expect(m.transport.sendMail({ from: 'a@customer.example', to: 'support@hotline.example', subject: 'big', text: 'x'.repeat(10_000) })).rejects.toThrow(/552/);
    expect(m.hotline.db.prepare('SELECT count(*) FROM raw_messages').pluck().get()).toBe(0);
  });

  it('refuses recipients outside the configured domains with 550', async () => {
    await m.close();
    m = await mailHarness({ mailDomains: 'hotline.example' });
    await expect(m.transport.sendMail({ from: 'a@customer.example', to: 'someone@elsewhere.example', subject: 'x', text: 'x' })).rejects.toThrow(/550/);
  });
});

describe('follow-ups', () => {
  it.each(['Re: ', 'AW: ', 'Fwd: ', 'WG: ', 'Re: AW: '])('files a reply with %s[Ticket#…] on that ticket, without a new auto-reply', async (prefix) => {
    const { ticket } = await opened();
    const { outcome } = await m.ingest(m.message({ From: 'carl@customer.example', To: 'support@hotline.example', Subject: `${prefix}[Ticket#${ticket.ttn}] Printer on fire` }, 'Still smoking.'));
    expect(outcome).toBe('follow-up');
    expect(m.ticketCount()).toBe(1);
    expect((await m.hotline.tickets.articles(ticket.id)).map((a) => a.text.trim())).toContain('Still smoking.');
    expect((await m.sent()).length).toBe(1);
    expect((await m.hotline.tickets.findById(ticket.id))?.state).toBe('open');
  });

  it('does not trust a TTN with a wrong check digit: a new ticket', async () => {
    const { ticket } = await opened();
    const wrong = ticket.ttn.slice(0, -1) + String((Number(ticket.ttn.at(-1)) + 1) % 10);
    const { outcome } = await m.ingest(m.message({ From: 'carl@customer.example', Subject: `Re: [Ticket#${wrong}] Printer on fire` }));
    expect(outcome).toBe('ticket');
    expect(m.ticketCount()).toBe(2);
  });

  it('does not file a valid TTN of a ticket that does not exist', async () => {
    await opened();
    const valid = `1999010100001${luhnCheckDigit.compute('1999010100001')}`;
    expect((await m.ingest(m.message({ From: 'x@customer.example', Subject: `[Ticket#${valid}] hi` }))).outcome).toBe('ticket');
  });

  it('files a reply without a TTN by In-Reply-To / References to our auto-reply', async () => {
    const { ticket, autoReply } = await opened();
    const viaReferences = await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'my answer', References: `<unrelated@x> ${autoReply!.mail.messageId}` }));
    expect(viaReferences.outcome).toBe('follow-up');
    const viaInReplyTo = await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'another', 'In-Reply-To': autoReply!.mail.messageId! }));
    expect(viaInReplyTo.outcome).toBe('follow-up');
    expect((await m.hotline.tickets.articles(ticket.id)).filter((a) => a.kind === 'email-in')).toHaveLength(3);
  });

  it('files a reply to an agent\'s reply on the ticket', async () => {
    const { ticket } = await opened();
    const { agent } = await m.hotline.agents.create({ login: 'alice', name: 'Alice', role: 'admin', password: 'password123' });
    await m.mail.pipeline.reply(ticket, agent, { to: 'carl@customer.example', subject: 'About your printer', text: 'Try turning it off.' });
    const out = (await m.sent()).find((s) => s.mail.subject === `[Ticket#${ticket.ttn}] About your printer`)!;
    expect(out.mail.inReplyTo).toBeTruthy();
    const { outcome } = await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'thanks', 'In-Reply-To': out.mail.messageId! }));
    expect(outcome).toBe('follow-up');
  });

  it('reopens a closed ticket on a follow-up, or opens a linked new one when the queue says so', async () => {
    const { ticket } = await opened();
    await m.hotline.tickets.change(ticket.id, { state: 'closed' });
    await m.ingest(m.message({ From: 'carl@customer.example', Subject: `Re: [Ticket#${ticket.ttn}] x` }));
    expect((await m.hotline.tickets.findById(ticket.id))?.state).toBe('open');

    await m.hotline.directory.updateQueue(m.queues.support.id, { reopenPolicy: 'new-ticket' });
    await m.hotline.tickets.change(ticket.id, { state: 'closed' });
    const { outcome } = await m.ingest(m.message({ From: 'carl@customer.example', Subject: `Re: [Ticket#${ticket.ttn}] again` }));
    expect(outcome).toBe('ticket');
    expect((await m.hotline.tickets.findById(ticket.id))?.state).toBe('closed');
    const linked = m.hotline.db.prepare('SELECT linked_ticket_id FROM tickets WHERE id <> ? ORDER BY id DESC LIMIT 1').pluck().get(ticket.id);
    expect(linked).toBe(ticket.id);
    // Both tickets' histories say what mail did.
    const history = async (id: number) => (await m.hotline.tickets.history(id)).map((e) => `${e.via} ${e.field} ${e.oldLabel ?? '-'} → ${e.newLabel ?? '-'}`);
    const newer = (await m.hotline.tickets.listAll({ state: 'new' })).find((t) => t.id !== ticket.id)!;
    expect(await history(ticket.id)).toEqual(['mail created - → Support', 'system state new → closed', 'mail state closed → open', 'system state open → closed', `mail linked-from - → ${newer.ttn}`]);
    expect(await history(newer.id)).toEqual(['mail created - → Support', `mail link - → ${ticket.ttn}`]);
  });

  /** A delivery report (RFC 3464) about our auto-reply, saying `action` with `status`. */
  function report(autoReply: { mail: { messageId: string | null; subject: string } }, action: string, status: string, id: string): Buffer {
    const boundary = 'B0UND';
    return Buffer.from(
      [
        'From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)',
        'To: support@hotline.example',
        `Subject: Delivery Status Notification (${action})`,
        `Message-ID: <${id}@mx.customer.example>`,
        'Auto-Submitted: auto-replied',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain',
        '',
        `Your message to carl@customer.example: ${action}.`,
        `--${boundary}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.customer.example',
        '',
        'Final-Recipient: rfc822; carl@customer.example',
        `Action: ${action}`,
        `Status: ${status}`,
        `--${boundary}`,
        'Content-Type: message/rfc822-headers',
        '',
        `Message-ID: ${autoReply.mail.messageId}`,
        `Subject: ${autoReply.mail.subject}`,
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
  }

  it('shows a delayed or relayed delivery on the ticket without marking the mail failed; a later permanent failure does', async () => {
    const { ticket, autoReply } = await opened();
    const outId = (await m.hotline.tickets.articles(ticket.id)).find((a) => a.messageId === autoReply!.mail.messageId)!.id;
    expect((await m.ingest(report(autoReply!, 'delayed', '4.4.1', 'dsn-delayed'))).outcome).toBe('bounce');
    expect((await m.hotline.tickets.articles(ticket.id)).at(-1)?.text).toMatch(/^Delivery delayed \(the mail server keeps trying\) to carl@customer\.example \(status 4\.4\.1\)/);
    expect(await m.mail.repo.delivery(outId)).toBe('sent');
    expect((await m.ingest(report(autoReply!, 'relayed', '2.0.0', 'dsn-relayed'))).outcome).toBe('bounce');
    expect(await m.mail.repo.delivery(outId)).toBe('sent');
    expect((await m.ingest(report(autoReply!, 'failed', '5.1.1', 'dsn-failed'))).outcome).toBe('bounce');
    expect(await m.mail.repo.delivery(outId)).toBe('failed');
    expect(m.ticketCount()).toBe(1);
  });

  it('attaches a bounce to the original ticket, marks the delivery failed, and opens nothing', async () => {
    const { ticket, autoReply } = await opened();
    const boundary = 'B0UND';
    const bounce = Buffer.from(
      [
        'From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)',
        'To: support@hotline.example',
        'Subject: Undelivered Mail Returned to Sender',
        'Message-ID: <bounce-1@mx.customer.example>',
        'Auto-Submitted: auto-replied',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain',
        '',
        'I could not deliver your message to carl@customer.example: mailbox full.',
        `--${boundary}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.customer.example',
        '',
        'Final-Recipient: rfc822; carl@customer.example',
        'Action: failed',
        'Status: 5.2.2',
        `--${boundary}`,
        'Content-Type: message/rfc822',
        '',
        `Message-ID: ${autoReply!.mail.messageId}`,
        `Subject: ${autoReply!.mail.subject}`,
        '',
        'body',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    const { outcome } = await m.ingest(bounce);
    expect(outcome).toBe('bounce');
    expect(m.ticketCount()).toBe(1);
    expect((await m.sent()).length).toBe(1);
    const articles = await m.hotline.tickets.articles(ticket.id);
    expect(articles.at(-1)?.text).toMatch(/^Delivery failed to carl@customer\.example \(status 5\.2\.2\)/);
    const outId = articles.find((a) => a.messageId === autoReply!.mail.messageId)!.id;
    expect(await m.mail.repo.delivery(outId)).toBe('failed');
  });

  it('keeps a bounce for mail it never sent, flagged, without a ticket', async () => {
    const raw = Buffer.from('From: MAILER-DAEMON@x.example\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\n');
    const { id, outcome } = await m.ingest(raw);
    expect(outcome).toBe('failed');
    expect(m.ticketCount()).toBe(0);
    expect((await m.mail.repo.listRaw('failed')).map((r) => r.id)).toContain(id);
  });

  it('lists every flagged message, a page at a time, with how many there are', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 55; i++) {
      const raw = Buffer.from(`From: MAILER-DAEMON@x.example\r\nSubject: Undelivered ${i}\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed ${i}\r\n--b--\r\n`);
      ids.push((await m.ingest(raw)).id);
    }
    const admin = await m.adminPages();
    const first = (await admin.get('/admin/mail')).body;
    expect(first).toContain('Flagged messages 1–50 of 55 (page 1 of 2)');
    const second = (await admin.get('/admin/mail?page=2')).body;
    expect(second).toContain('Flagged messages 51–55 of 55');
    const listed = [...`${first}${second}`.matchAll(/<tr><td>(\d+)<\/td>/g)].map((x) => Number(x[1]));
    expect(listed).toEqual([...ids].sort((a, b) => b - a));
  });

  it('stores the same message only once', async () => {
    const raw = m.message({ From: 'carl@customer.example', Subject: 'once' });
    await m.ingest(raw);
    expect((await m.ingest(raw)).outcome).toBe('duplicate');
    // The same message by another route: the route's lines on top, LF line ends on the way.
    const rerouted = Buffer.from(`Received: from mx2.example by hotline.example; ${new Date().toUTCString()}\r\nDelivered-To: support@hotline.example\r\nReturn-Path: <carl@customer.example>\r\n${raw.toString()}`.replace(/\r\n/g, '\n'));
    expect((await m.ingest(rerouted)).outcome).toBe('duplicate');
    expect(m.ticketCount()).toBe(1);
  });

  it('files messages that share a Message-ID but not their content: another sender or subject is another message', async () => {
    const id = '<reused-id@customer.example>';
    await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'Printer', 'Message-ID': id }, 'It smokes.'));
    expect((await m.ingest(m.message({ From: 'dora@customer.example', Subject: 'Printer', 'Message-ID': id }, 'It smokes.'))).outcome).toBe('ticket');
    expect((await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'Scanner', 'Message-ID': id }, 'It smokes.'))).outcome).toBe('ticket');
    expect(m.ticketCount()).toBe(3);
  });

  it('files one of eight deliveries of one message arriving at once over SMTP, each by its own route, and keeps the others flagged', async () => {
    const raw = m.message({ From: 'carl@customer.example', To: 'support@hotline.example', Subject: 'Eight times' }).toString();
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => m.transport.sendMail({ envelope: { from: 'carl@customer.example', to: ['support@hotline.example'] }, raw: `Received: from relay${i}.example by hotline.example\r\n${raw}` })),
    );
    expect(sent.map((r) => r.response.slice(0, 3))).toEqual(Array(8).fill('250'));
    await expect.poll(() => m.mail.repo.rawCounts()).toEqual({ done: 1, duplicate: 7 });
    expect(m.ticketCount()).toBe(1);
    expect((await m.sent()).filter((s) => s.mail.subject?.includes('Eight times'))).toHaveLength(1);
  });
});

describe('who wrote it, and where answers go', () => {
  /** Files `headers` as a new message; returns the customer's address and name, and where the auto-reply went. */
  async function file(headers: Record<string, string>) {
    const { id, outcome } = await m.ingest(m.message({ To: 'support@hotline.example', Subject: 'Printer', ...headers }));
    expect(outcome).toBe('ticket');
    const ticketId = m.hotline.db.prepare('SELECT ticket_id FROM raw_messages WHERE id = ?').pluck().get(id) as number;
    const ticket = (await m.hotline.tickets.findById(ticketId))!;
    const customer = ticket.customerId === null ? null : await m.hotline.directory.findCustomer(ticket.customerId);
    const autoReply = (await m.sent()).find((s) => s.mail.subject.includes(ticket.ttn));
    return { ticket, customer: customer && { email: customer.emails[0], name: customer.name }, repliedTo: autoReply?.mail.to.map((t) => t) ?? [] };
  }

  it('takes the first usable From, else Reply-To, Sender or Return-Path', async () => {
    expect(await file({ From: 'Broken <not an address>, Dora Debtor <dora@customer.example>' })).toMatchObject({ customer: { email: 'dora@customer.example', name: 'Dora Debtor' }, repliedTo: ['dora@customer.example'] });
    expect(await file({ 'Reply-To': 'Erin <erin@customer.example>' })).toMatchObject({ customer: { email: 'erin@customer.example' }, repliedTo: ['erin@customer.example'] });
    expect(await file({ From: 'undisclosed-recipients:;', Sender: 'Frank <frank@customer.example>' })).toMatchObject({ customer: { email: 'frank@customer.example' }, repliedTo: ['frank@customer.example'] });
    expect(await file({ 'Return-Path': '<gina@customer.example>' })).toMatchObject({ customer: { email: 'gina@customer.example' }, repliedTo: ['gina@customer.example'] });
  });

  it('stores the sender\'s display name decoded', async () => {
    const { customer, ticket } = await file({ From: '=?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@customer.example>' });
    expect(customer).toEqual({ email: 'juergen@customer.example', name: 'Jürgen Müller' });
    expect((await m.hotline.tickets.articles(ticket.id))[0]!.from).toBe('Jürgen Müller <juergen@customer.example>');
  });

  it('sends the auto-reply to Reply-To, and the agent\'s reply form starts with it', async () => {
    const { customer, repliedTo, ticket } = await file({ From: 'Carl <carl@customer.example>', 'Reply-To': 'Helpdesk of Carl <tickets@carl.example>' });
    expect(customer).toMatchObject({ email: 'carl@customer.example' });
    expect(repliedTo).toEqual(['tickets@carl.example']);
    const page = await (await m.adminPages()).get(`/tickets/${ticket.ttn}`);
    expect(page.body).toContain('name="to" type="text" autocomplete="email" value="tickets@carl.example"');
  });

  it('gives an agent\'s reply form the plain address of a sender without Reply-To, so that the browser takes it', async () => {
    const { ticket } = await file({ From: 'Carl Customer <carl@customer.example>' });
    const page = await (await m.adminPages()).get(`/tickets/${ticket.ttn}`);
    expect(page.body).toContain('name="to" type="text" autocomplete="email" value="carl@customer.example"');
  });

  it('sends no auto-reply when the From is a robot, whatever Reply-To says', async () => {
    expect((await file({ From: 'MAILER-DAEMON@customer.example', 'Reply-To': 'someone@customer.example' })).repliedTo).toEqual([]);
  });
});

describe("an agent's reply", () => {
  /** Outbox rows with what their articles say. */
  const outbox = () =>
    m.hotline.db
      .prepare("SELECT o.kind, o.envelope_to AS envelopeTo, a.to_addr AS shownTo, a.cc_addr AS shownCc, a.subject, a.body_text AS text FROM outbox o JOIN articles a ON a.id = o.article_id WHERE o.kind = 'agent-reply' ORDER BY o.id")
      .all() as Array<{ kind: string; envelopeTo: string; shownTo: string; shownCc: string | null; subject: string; text: string }>;

  it('takes Name <address>, Cc and Bcc on the form and sends one mail to all of them, threaded, with the TTN in the subject', async () => {
    const { ticket } = await opened();
    const pages = await m.adminPages();
    const res = await pages.post(`/tickets/${ticket.ttn}/reply`, { to: '"Doe, Jane" <jane@customer.example>, carl@customer.example', cc: 'Boss <boss@customer.example>', bcc: 'audit@hotline.example', subject: 'Re: Printer on fire', text: 'Fixed.' });
    expect(pathOf(res.headers.location)).toBe(`/tickets/${ticket.ttn}?done=reply-queued`);
    expect(outbox()).toEqual([
      { kind: 'agent-reply', envelopeTo: JSON.stringify(['jane@customer.example', 'carl@customer.example', 'boss@customer.example', 'audit@hotline.example']), shownTo: '"Doe, Jane" <jane@customer.example>, carl@customer.example', shownCc: 'Boss <boss@customer.example>', subject: `[Ticket#${ticket.ttn}] Printer on fire`, text: 'Fixed.' },
    ]);
    const sent = (await m.sent()).find((s) => s.mail.text.trim() === 'Fixed.')!;
    expect(sent.mail.to).toEqual(['jane@customer.example', 'carl@customer.example']);
    expect(sent.mail.cc).toEqual(['boss@customer.example']);
    // Bcc travels in the envelope only.
    expect(sent.raw.toString()).not.toContain('audit@hotline.example');
    const customerMail = (await m.hotline.tickets.articles(ticket.id)).find((a) => a.kind === 'email-in')!;
    expect(sent.mail.inReplyTo).toBe(customerMail.messageId);
  });

  it('refuses an address that is not one, or a line break in it, on the form and the API, and stores nothing', async () => {
    const { ticket } = await opened();
    const pages = await m.adminPages();
    const form = await pages.post(`/tickets/${ticket.ttn}/reply`, { to: 'Carl Customer', text: 'Fixed.' });
    expect(form.statusCode).toBe(400);
    expect(form.body).toContain('to: &quot;Carl Customer&quot; is not an e-mail address');
    const root = (await m.hotline.agents.findByLogin('root'))!;
    const auth = { authorization: `Bearer ${await m.hotline.auth.createApiToken(root.id, 'test')}` };
    const server = (await import('../../src/http/server.js')).buildServer;
    const api = await server(m.hotline, { mail: m.mail });
    try {
      const post = (payload: Record<string, unknown>) => api.inject({ method: 'POST', url: `/api/v1/tickets/${ticket.ttn}/articles`, headers: auth, payload });
      for (const to of ['nobody', 'carl@customer.example\r\nBcc: victim@example.org', 'a@b, <>']) {
        const bad = await post({ kind: 'email-out', to, text: 'Fixed.' });
        expect(bad.statusCode, to).toBe(400);
      }
      expect((await post({ kind: 'email-out', text: 'Fixed.' })).json()).toEqual({ error: 'body.to: an address is required for a reply' });
      expect(outbox()).toEqual([]);
      expect((await m.hotline.tickets.articles(ticket.id)).filter((a) => a.kind === 'email-out' && a.authorAgentId !== null)).toEqual([]);
      // A good one is sent like the form's: outbox row, TTN subject from the one function that makes it.
      const good = await post({ kind: 'email-out', to: 'Carl <carl@customer.example>', subject: 'AW: [Ticket#1234] Printer', text: 'On its way.' });
      expect(good.statusCode).toBe(201);
      expect(good.json()).toMatchObject({ kind: 'email-out', to: 'Carl <carl@customer.example>', subject: `[Ticket#${ticket.ttn}] Printer` });
      expect(outbox()).toMatchObject([{ envelopeTo: JSON.stringify(['carl@customer.example']), text: 'On its way.' }]);
      expect((await m.sent()).filter((s) => s.mail.text.trim() === 'On its way.')).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  it('is refused to an agent who may only read the queue', async () => {
    const { ticket } = await opened();
    const bob = (await m.hotline.agents.create({ login: 'bob', name: 'Bob', role: 'agent', password: 'password123' })).agent;
    await m.hotline.directory.setAccess(bob.id, m.queues.support.id, 'ro');
    await expect(m.mail.pipeline.reply(ticket, bob, { to: 'carl@customer.example', subject: '', text: 'x' })).rejects.toThrow(/read-only/);
    expect(outbox()).toEqual([]);
  });
});

describe('loop protection', () => {
  it.each([
    ['Auto-Submitted: auto-generated', { 'Auto-Submitted': 'auto-generated' }, 'carl@customer.example'],
    ['Auto-Submitted: auto-replied', { 'Auto-Submitted': 'auto-replied' }, 'carl@customer.example'],
    ['Precedence: bulk', { Precedence: 'bulk' }, 'carl@customer.example'],
    ['Precedence: list', { Precedence: 'list' }, 'carl@customer.example'],
    ['Precedence: junk', { Precedence: 'junk' }, 'carl@customer.example'],
    ['X-Loop', { 'X-Loop': 'somewhere@else.example' }, 'carl@customer.example'],
    ['Precedence: auto_reply', { Precedence: 'auto_reply' }, 'carl@customer.example'],
    ['X-Autoreply: yes', { 'X-Autoreply': 'yes' }, 'carl@customer.example'],
    ['X-Autorespond', { 'X-Autorespond': 'Out of office until Monday' }, 'carl@customer.example'],
    ['X-OTRS-Loop: yes', { 'X-OTRS-Loop': 'yes' }, 'carl@customer.example'],
    ['List-Id', { 'List-Id': '<users.lists.example>' }, 'carl@customer.example'],
    ['List-Unsubscribe', { 'List-Unsubscribe': '<mailto:leave@lists.example>' }, 'carl@customer.example'],
    ['mailer-daemon sender', {}, 'MAILER-DAEMON@customer.example'],
    ['postmaster sender', {}, 'postmaster@customer.example'],
    ['noreply sender', {}, 'noreply@customer.example'],
    ['no-reply sender', {}, 'no-reply@customer.example'],
    ['our own address', {}, 'billing@hotline.example'],
  ])('opens a ticket but sends no auto-reply for %s', async (_what, headers, from) => {
    const { outcome } = await m.ingest(m.message({ From: from, To: 'support@hotline.example', Subject: 'hello', ...headers }));
    expect(outcome).toBe('ticket');
    expect(await m.sent()).toEqual([]);
  });

  it('still answers Auto-Submitted: no', async () => {
    await m.ingest(m.message({ From: 'carl@customer.example', Subject: 'hello', 'Auto-Submitted': 'no' }));
    expect(await m.sent()).toHaveLength(1);
  });

  it('sends at most 10 auto-replies per sender per day', async () => {
    for (let i = 0; i < 12; i++) await m.ingest(m.message({ From: 'chatty@customer.example', Subject: `message ${i}` }));
    expect(m.ticketCount()).toBe(12);
    expect(await m.sent()).toHaveLength(10);
    await m.ingest(m.message({ From: 'quiet@customer.example', Subject: 'one' }));
    expect(await m.sent()).toHaveLength(11);
  });
});

describe('faxes and inline images', () => {
  it('names parts sent without a name by their type, attached messages by their subject, and shows image/jpg and image/pjpeg inline as JPEG', async () => {
    const jpeg = Buffer.from('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQ==', 'base64');
    const boundary = 'PARTS';
    const raw = Buffer.from(
      [
        'From: carl@customer.example',
        'To: support@hotline.example',
        'Subject: Photos and the mails before',
        'Message-ID: <parts@customer.example>',
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain',
        '',
        'See attached.',
        ...[['image/jpg', 'attachment'], ['image/pjpeg', 'attachment'], ['image/jpeg', 'inline']].flatMap(([type, disposition]) => [
          `--${boundary}`,
          `Content-Type: ${type}`,
          `Content-Disposition: ${disposition}`,
          'Content-Transfer-Encoding: base64',
          '',
          jpeg.toString('base64'),
        ]),
        `--${boundary}`,
        'Content-Type: message/rfc822',
        '',
        'From: dora@customer.example',
        'Subject: =?utf-8?Q?Drucker_f=C3=A4llt_aus?=',
        '',
        'It is broken.',
        `--${boundary}`,
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('data').toString('base64'),
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    expect((await m.ingest(raw)).outcome).toBe('ticket');
    const [ticket] = await m.hotline.tickets.listAll({});
    const files = await m.hotline.tickets.attachments(ticket!.ttn, 'system');
    expect(files.map((f) => f.filename)).toEqual(['image-1.jpg', 'image-2.jpg', 'image-3.jpg', 'Drucker fällt aus.eml', 'application-5.bin']);
    const pages = await m.adminPages();
    const page = (await pages.get(`/tickets/${ticket!.ttn}`)).body;
    for (const f of files.slice(0, 3)) expect(page).toContain(`<figure><img src="/attachments/${f.id}" alt="${f.filename}">`);
    for (const f of files.slice(0, 2)) {
      const served = await pages.get(`/attachments/${f.id}`);
      expect(served.headers['content-type']).toBe('image/jpeg');
      expect(served.headers['content-disposition']).toMatch(/^inline/);
    }
  });

  it('keeps NUL and other control characters out of titles, subjects, names and the text shown', async () => {
    const raw = Buffer.from('From: "Carl\u0000 Customer" <carl@customer.example>\r\nTo: support@hotline.example\r\nSubject: Printer\u0000 on\u0007 fire\r\nMessage-ID: <nul@customer.example>\r\n\r\nIt\u0000 smokes.\u001b[31m\r\nReally.\r\n', 'latin1');
    expect((await m.ingest(raw)).outcome).toBe('ticket');
    const [ticket] = await m.hotline.tickets.listAll({});
    expect(ticket!.title).toBe('Printer on fire');
    const [article] = await m.hotline.tickets.articles(ticket!.id);
    expect(article!.subject).toBe('Printer on fire');
    expect(article!.from).toBe('Carl Customer <carl@customer.example>');
    expect(article!.text).toBe('It smokes.[31m\nReally.\n');
    const autoReply = (await m.sent()).find((s) => s.mail.subject.includes(ticket!.ttn))!;
    expect(autoReply.raw.toString('latin1')).not.toMatch(/[\u0000\u0007]/);
  });

  it('shows image attachments inline, with a PNG of a TIFF fax beside the TIFF', async () => {
    const UTIF = (await import('utif2')).default;
    const { PNG } = await import('pngjs');
    const red = new Uint8Array(4 * 3 * 4).map((_, i) => (i % 4 === 0 || i % 4 === 3 ? 255 : 0));
    const tiff = Buffer.from(UTIF.encodeImage(red, 4, 3));
    await m.transport.sendMail({
      from: 'fax-gateway@customer.example',
      to: 'support@hotline.example',
      subject: 'Fax from +49 30 1234567',
      text: 'See attached fax.',
      attachments: [
        { filename: 'fax.tif', content: tiff, contentType: 'image/tiff' },
        { filename: 'logo.gif', content: Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'), contentType: 'image/gif' },
      ],
    });
    await expect.poll(() => m.ticketCount()).toBe(1);
    const [ticket] = await m.hotline.tickets.listAll({});
    const files = await m.hotline.tickets.attachments(ticket!.ttn, 'system');
    expect(files.map((f) => [f.filename, f.contentType])).toEqual([
      ['fax.tif', 'image/tiff'],
      ['fax.png', 'image/png'],
      ['logo.gif', 'image/gif'],
    ]);
    const preview = await m.hotline.tickets.attachmentForActor(files[1]!.id, 'system');
    const png = PNG.sync.read(preview.content);
    expect([png.width, png.height]).toEqual([4, 3]);
    expect([...png.data.subarray(0, 4)]).toEqual([255, 0, 0, 255]);

    const page = (await (await m.adminPages()).get(`/tickets/${ticket!.ttn}`)).body;
    expect(page).toContain(`<figure><img src="/attachments/${files[1]!.id}" alt="fax.png">`);
    expect(page).toContain(`<figure><img src="/attachments/${files[2]!.id}" alt="logo.gif">`);
    expect(page).toContain(`Attachment: <a href="/attachments/${files[0]!.id}">fax.tif</a>`);
  });

  it('shows an inline image referenced by Content-ID in the mail\'s HTML', async () => {
    await m.transport.sendMail({
      from: 'carl@customer.example',
      to: 'support@hotline.example',
      subject: 'Screenshot',
      html: '<p>Look: <img src="cid:shot@customer.example" alt="screenshot"></p>',
      attachments: [{ filename: 'shot.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), contentType: 'image/png', cid: 'shot@customer.example' }],
    });
    await expect.poll(() => m.ticketCount()).toBe(1);
    const [ticket] = await m.hotline.tickets.listAll({});
    const [article] = await m.hotline.tickets.articles(ticket!.id);
    expect(article!.html).toContain('src="cid:shot@customer.example"');
    const { sanitizeMailHtml } = await import('../../src/http/sanitize.js');
    const [file] = await m.hotline.tickets.attachments(ticket!.ttn, 'system');
    expect(file!.contentId).toBe('shot@customer.example');
    expect(sanitizeMailHtml(article!.html!, (cid) => (cid === 'shot@customer.example' ? `/attachments/${file!.id}` : undefined))).toContain(`src="/attachments/${file!.id}"`);
  });
});

describe('decoding what senders did not declare', () => {
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  /** A message from header lines and a body as bytes: 8-bit bytes go in as they are. */
  const bytes = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  async function filed(raw: Buffer) {
    expect((await m.ingest(raw)).outcome).toBe('ticket');
    const [ticket] = await m.hotline.tickets.listAll({});
    const [article] = await m.hotline.tickets.articles(ticket!.id);
    return { ticket: ticket!, article: article!, files: await m.hotline.tickets.attachments(ticket!.ttn, 'system') };
  }

  it('reads a raw GB2312 subject and file name in the charset its body declares', async () => {
    const gb = (text: string) => iconv.encode(text, 'gb2312');
    const { ticket, article, files } = await filed(
      bytes(
        'From: ', gb('张伟'), ' <zhang@customer.example>\r\nTo: support@hotline.example\r\nSubject: ', gb('打印机坏了'), '\r\nMessage-ID: <gb@customer.example>\r\n',
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n', gb('打印机不能打印，请帮忙。'),
        '\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="', gb('报告.pdf'), '"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--B--\r\n',
      ),
    );
    expect(ticket.title).toBe('打印机坏了');
    expect(article.from).toBe('张伟 <zhang@customer.example>');
    expect(article.text.trim()).toBe('打印机不能打印，请帮忙。');
    expect(files.map((f) => f.filename)).toEqual(['报告.pdf']);
  });

  it('detects the charset of 8-bit text declared as nothing or as us-ascii: GBK, Shift_JIS, Latin-1', async () => {
    const cases: Array<[string, string, string]> = [
      ['gbk', '服务器无法启动', '服务器昨天晚上停止了工作，重新启动也没有用。'],
      ['shift_jis', 'プリンターが壊れました', 'プリンターが印刷しません。至急、修理をお願いします。'],
      ['windows-1252', 'Drucker in Köln defekt', 'Grüße aus Köln: der Drucker im Büro druckt nur leere Seiten.'],
    ];
    for (const [i, [charset, subject, body]] of cases.entries()) {
      const label = i === 1 ? 'Content-Type: text/plain; charset=us-ascii\r\n' : '';
      const raw = bytes(`From: carl@customer.example\r\nTo: support@hotline.example\r\nSubject: `, iconv.encode(subject, charset), `\r\nMessage-ID: <8bit-${i}@customer.example>\r\n${label}\r\n`, iconv.encode(body, charset), '\r\n');
      expect((await m.ingest(raw)).outcome).toBe('ticket');
    }
    const tickets = await m.hotline.tickets.listAll({});
    expect(tickets.map((t) => t.title).sort()).toEqual(cases.map((c) => c[1]).sort());
    for (const t of tickets) expect((await m.hotline.tickets.articles(t.id))[0]!.text.trim()).toBe(cases.find((c) => c[1] === t.title)![2]);
  });

  it('decodes RFC 2047 words inside quotes: in names, subjects and file names', async () => {
    const { ticket, article, files } = await filed(
      Buffer.from(
        [
          'From: "M=?utf-8?q?=C3=BC?=ller, J=?utf-8?q?=C3=BC?=rgen" <juergen@customer.example>',
          'To: support@hotline.example',
          'Subject: Re: "=?utf-8?q?Gr=C3=BC=C3=9Fe?=" aus =?iso-8859-1?q?K=F6ln?=',
          'Message-ID: <quoted@customer.example>',
          'Content-Type: multipart/mixed; boundary="B"',
          '',
          '--B',
          'Content-Type: text/plain',
          '',
          'See the files.',
          '--B',
          'Content-Type: application/pdf; name="=?utf-8?q?R=C3=A9sum=C3=A9?=.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          'JVBERg==',
          '--B',
          'Content-Type: application/pdf',
          'Content-Disposition: attachment; filename="=?utf-8?B?UsOpc3Vtw6kgMi5wZGY=?="',
          'Content-Transfer-Encoding: base64',
          '',
          'JVBERg==',
          '--B--',
          '',
        ].join('\r\n'),
      ),
    );
    expect(article.from).toBe('"Müller, Jürgen" <juergen@customer.example>');
    expect(article.subject).toBe('Re: "Grüße" aus Köln');
    expect(ticket.title).toBe('"Grüße" aus Köln');
    expect(files.map((f) => f.filename)).toEqual(['Résumé.pdf', 'Résumé 2.pdf']);
  });

  it('decodes uuencoded files: an x-uuencode part, and a block in a plain-text body', async () => {
    const report = Buffer.from('Serial 4711: error E42 since Monday.\n'.repeat(5));
    const uu = uuencode(report);
    const { article, files } = await filed(
      Buffer.from(
        [
          'From: carl@customer.example',
          'To: support@hotline.example',
          'Subject: Logs',
          'Message-ID: <uu@customer.example>',
          'Content-Type: multipart/mixed; boundary="B"',
          '',
          '--B',
          'Content-Type: text/plain',
          '',
          'The log is attached, and the photo below.',
          '',
          'begin 644 photo.jpg',
          ...uuencode(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])),
          '',
          'Carl',
          '--B',
          'Content-Type: application/octet-stream; name="error.log"',
          'Content-Transfer-Encoding: x-uuencode',
          '',
          'begin 644 error.log',
          ...uu,
          '--B--',
          '',
        ].join('\r\n'),
      ),
    );
    expect(files.map((f) => [f.filename, f.contentType, f.size])).toEqual([
      ['error.log', 'text/plain', report.length],
      ['photo.jpg', 'image/jpeg', 7],
    ]);
    expect(files[0]!.sha256).toBe(sha256(report));
    expect(files[1]!.sha256).toBe(sha256(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])));
    expect(article.text).not.toContain('begin 644');
    expect(article.text).toContain('The log is attached');
    expect(article.text).toContain('Carl');
  });

  it('keeps a second HTML part as an attachment, and Apple Mail\'s HTML split around an image as one body', async () => {
    const second = await filed(
      Buffer.from(
        [
          'From: carl@customer.example',
          'To: support@hotline.example',
          'Subject: Report',
          'Message-ID: <html2@customer.example>',
          'Content-Type: multipart/mixed; boundary="B"',
          '',
          '--B',
          'Content-Type: multipart/alternative; boundary="A"',
          '',
          '--A',
          'Content-Type: text/plain',
          '',
          'The report is attached.',
          '--A',
          'Content-Type: text/html',
          '',
          '<p>The report is attached.</p>',
          '--A--',
          '--B',
          'Content-Type: text/html',
          '',
          '<table><tr><td>Monthly figures</td></tr></table>',
          '--B--',
          '',
        ].join('\r\n'),
      ),
    );
    expect(second.article.html).toContain('The report is attached.');
    expect(second.article.html).not.toContain('Monthly figures');
    expect(second.article.text).not.toContain('Monthly figures');
    expect(second.files.map((f) => [f.filename, f.contentType])).toEqual([['text-1.html', 'text/html']]);

    await m.close();
    m = await mailHarness();
    const apple = await filed(
      Buffer.from(
        [
          'From: carl@customer.example',
          'To: support@hotline.example',
          'Subject: Photo',
          'Message-ID: <apple@customer.example>',
          'Content-Type: multipart/alternative; boundary="A"',
          '',
          '--A',
          'Content-Type: text/plain',
          '',
          'Before the photo. After the photo.',
          '--A',
          'Content-Type: multipart/mixed; boundary="M"',
          '',
          '--M',
          'Content-Type: text/html',
          '',
          '<p>Before the photo.</p>',
          '--M',
          'Content-Type: image/png',
          'Content-Disposition: inline; filename="photo.png"',
          'Content-Transfer-Encoding: base64',
          '',
          'iVBORw0KGgo=',
          '--M',
          'Content-Type: text/html',
          '',
          '<p>After the photo.</p>',
          '--M--',
          '--A--',
          '',
        ].join('\r\n'),
      ),
    );
    expect(apple.article.html).toContain('Before the photo.');
    expect(apple.article.html).toContain('After the photo.');
    expect(apple.files.map((f) => f.filename)).toEqual(['photo.png']);
  });
});

/** uuencode lines (without `begin`, with the closing backtick line and `end`), as `uuencode` writes them. */
function uuencode(data: Buffer): string[] {
  const lines: string[] = [];
  const char = (v: number) => (v === 0 ? '`' : String.fromCharCode(32 + v));
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = char(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a, b, c] = [chunk[j]!, chunk[j + 1] ?? 0, chunk[j + 2] ?? 0];
      line += char(a >> 2) + char(((a & 3) << 4) | (b >> 4)) + char(((b & 15) << 2) | (c >> 6)) + char(c & 63);
    }
    lines.push(line);
  }
  return [...lines, '`', 'end'];
}
