import { createHash } from 'node:crypto';
import { contentKey } from './content-key.js';
import type { Hotline } from '../app.js';
import { ensureDefaultQueue } from '../bootstrap.js';
import { autoReplyBlocked, stripReplyPrefixes, ticketSubject } from '../core/mail-rules.js';
import type { Agent, Customer, Queue, Ticket } from '../core/types.js';
import type { MailRepository } from '../storage/mail-repository.js';
import { newMessageId } from './compose.js';
import type { MailWorker } from './mail-worker.js';
import { MailThreadClosedError } from './mail-worker.js';
import type { MailMessage } from './parse.js';

export interface MailSettings {
  /** Sender of auto-replies for queues without an address. */
  mailFrom: string;
  /** Auto-replies per sender per 24 hours. */
  autoReplyLimit: number;
}

/** Where a raw message came from. */
export interface Envelope {
  source: 'smtp' | 'pipe' | 'imap' | 'test';
  from: string | null;
  to: string[];
}

export type MailOutcome = 'ticket' | 'follow-up' | 'bounce' | 'duplicate' | 'failed';

const BUILT_IN_AUTO_REPLY: Record<string, string> = {
  en: 'Hello {name},\n\nthank you for your message. We have opened a ticket for it: {ttn}.\nPlease keep [Ticket#{ttn}] in the subject when you write to us about it; on the phone, key in {ttn} when asked for your ticket number.\n\nYour {queue} team',
  de: 'Hallo {name},\n\nvielen Dank für Ihre Nachricht. Wir haben dazu ein Ticket eröffnet: {ttn}.\nBitte lassen Sie [Ticket#{ttn}] im Betreff, wenn Sie uns dazu schreiben; am Telefon geben Sie {ttn} ein, wenn nach Ihrer Ticketnummer gefragt wird.\n\nIhr {queue}-Team',
};


/**
 * What a delivery report says about the mail (RFC 3464): its `Action`, or without one its status
 * class (5.x.x permanent). A report that says neither is taken as the failure reports usually are.
 */
export function reportedDelivery(report: NonNullable<MailMessage['bounce']>): 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded' {
  const action = report.action;
  if (action === 'failed' || action === 'delayed' || action === 'delivered' || action === 'relayed' || action === 'expanded') return action;
  if (report.status?.startsWith('4.')) return 'delayed';
  if (report.status?.startsWith('2.')) return 'delivered';
  return 'failed';
}

/**
 * One pipeline for every way mail comes in: the raw bytes are stored first (and only then
 * acknowledged), then parsed into a new ticket, a follow-up or a bounce — or kept and flagged
 * when they cannot be read. Auto-replies and agent replies go to the outbox.
 */
export function createMailPipeline(deps: { hotline: Hotline; repo: MailRepository; worker: Pick<MailWorker, 'read' | 'compose'>; settings: MailSettings; onOutbox?: () => void }) {
  const { hotline, repo, worker, settings } = deps;
  const now = () => hotline.clock.now().toISOString();

  async function ownAddresses(): Promise<Set<string>> {
    const queues = await hotline.directory.listQueues();
    return new Set([settings.mailFrom.toLowerCase(), ...queues.map((q) => q.email).filter((e): e is string => !!e)]);
  }

  /** Durably stores the bytes; rejects when storage fails (the sender must retry). */
  function store(raw: Buffer, envelope: Envelope): Promise<{ id: number; duplicate: boolean }> {
    const head = raw.subarray(0, 64 * 1024).toString('latin1');
    const messageId = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head)?.[1] ?? null;
    return repo.storeRaw({
      source: envelope.source,
      envelopeFrom: envelope.from,
      envelopeTo: envelope.to.map((t) => t.toLowerCase()),
      messageId,
      sha256: createHash('sha256').update(raw).digest('hex'),
      contentKey: contentKey(raw),
      raw,
      now: now(),
    });
  }

  async function queueFor(mail: MailMessage, envelopeTo: string[]): Promise<Queue> {
    for (const address of [...envelopeTo, ...mail.to, ...mail.cc]) {
      const queue = await hotline.directory.findQueueByEmail(address);
      if (queue) return queue;
    }
    // A fresh install (e.g. the MTA pipe before the first `hotline serve`) gets its default queue here too.
    return ensureDefaultQueue(hotline);
  }

  async function customerFor(mail: MailMessage): Promise<Customer | null> {
    if (!mail.from) return null;
    try {
      return await hotline.directory.findOrCreateCustomer({ name: mail.from.name, email: mail.from.address });
    } catch {
      // An address that is not quite one (odd but deliverable): keep the message, without a customer.
      return null;
    }
  }

  function articleOf(mail: MailMessage, rawId: number) {
    return {
      kind: 'email-in' as const,
      from: mail.from ? (mail.from.name ? `${mail.from.name} <${mail.from.address}>` : mail.from.address) : (mail.headers.get('from') ?? null),
      to: [...mail.to, ...mail.cc].join(', ') || null,
      replyTo: mail.replyTo?.address ?? null,
      subject: mail.subject || null,
      text: mail.text,
      // Already sanitised (readMail); inline cid: images stay as references to this mail's own parts.
      html: mail.html,
      messageId: mail.messageId,
      inReplyTo: mail.inReplyTo,
      references: mail.references,
      rawMessageId: rawId,
    };
  }

  async function addMailArticle(ticketId: number, mail: MailMessage, rawId: number): Promise<void> {
    const { article: stored } = await hotline.tickets.addArticle(ticketId, articleOf(mail, rawId));
    await attachAll(stored.id, mail);
  }

  async function attachAll(articleId: number, mail: MailMessage): Promise<void> {
    for (const a of mail.attachments) {
      await hotline.tickets.attach(articleId, { filename: a.filename, contentType: a.contentType, content: a.content, contentId: a.contentId });
      // Faxes come as TIFF, which browsers do not show: a PNG of the first page is shown inline beside it.
      if (a.preview) await hotline.tickets.attach(articleId, { filename: `${a.filename.replace(/\.tiff?$/i, '')}.png`, contentType: 'image/png', content: a.preview });
    }
  }

  async function followUpTicket(mail: MailMessage): Promise<Ticket | null> {
    // The TTN in the subject is trusted only with a right check digit, and only for a ticket that exists.
    for (const ttn of hotline.ttn.checker().findTtnInText(mail.subject)) {
      const ticket = await hotline.tickets.findByTtn(ttn);
      if (ticket) return ticket;
    }
    const ids = [mail.inReplyTo, ...mail.references].filter((v): v is string => !!v);
    const ticketId = repo.ticketForMessageIds(ids);
    return ticketId === null ? null : hotline.tickets.findById(ticketId);
  }

  async function autoReply(ticket: Ticket, queue: Queue, customer: Customer | null, mail: MailMessage): Promise<string | null> {
    const sender = mail.from?.address ?? null;
    // To the address the sender asked answers to go to, if any.
    const recipient = mail.replyTo?.address ?? sender;
    const own = await ownAddresses();
    const since = new Date(hotline.clock.now().getTime() - 24 * 3600 * 1000).toISOString();
    const check = (address: string | null) =>
      autoReplyBlocked({ headers: mail.headers, sender: address, ownAddresses: own, sentToSenderToday: address ? repo.autoRepliesSince(address, since) : 0, dailyLimit: settings.autoReplyLimit });
    // Both must be fit for an answer: a robot's From with a human's Reply-To is still a robot.
    const blocked = check(recipient) ?? (sender && sender !== recipient ? check(sender) : null);
    if (blocked || !recipient) return blocked;
    const language = customer?.language ?? 'en';
    const template = queue.autoReply?.[language] ?? queue.autoReply?.en ?? BUILT_IN_AUTO_REPLY[language] ?? BUILT_IN_AUTO_REPLY.en!;
    const from = queue.email ?? settings.mailFrom;
    const text = template
      .replaceAll('{ttn}', ticket.ttn)
      .replaceAll('{subject}', mail.subject)
      .replaceAll('{name}', mail.from?.name || mail.replyTo?.name || recipient)
      .replaceAll('{queue}', queue.name);
    await enqueue({
      ticket,
      kind: 'auto-reply',
      from,
      to: recipient,
      subject: ticketSubject(ticket.ttn, mail.subject),
      text,
      inReplyTo: mail.messageId,
      references: [...mail.references, ...(mail.messageId ? [mail.messageId] : [])],
      // RFC 3834: mark it, so other robots do not answer it.
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Loop': from, Precedence: 'auto_reply' },
      agent: null,
    });
    return null;
  }

  async function enqueue(m: {
    ticket: Ticket;
    kind: 'auto-reply' | 'agent-reply';
    from: string;
    to: string;
    subject: string;
    text: string;
    inReplyTo: string | null;
    references: string[];
    headers?: Record<string, string>;
    agent: Agent | null;
  }): Promise<number> {
    const messageId = newMessageId(m.from);
    const raw = await worker.compose({ from: m.from, to: m.to, subject: m.subject, text: m.text, inReplyTo: m.inReplyTo, references: m.references, headers: m.headers }, messageId);
    const { article } = await hotline.tickets.addArticle(
      m.ticket.id,
      { kind: 'email-out', from: m.from, to: m.to, subject: m.subject, text: m.text, messageId, inReplyTo: m.inReplyTo, authorAgentId: m.agent?.id ?? null, references: m.references },
      m.agent ? { agentId: m.agent.id } : 'system',
    );
    repo.enqueue({ articleId: article.id, kind: m.kind, envelopeFrom: m.from, envelopeTo: [m.to], messageId, raw, now: now() });
    deps.onOutbox?.();
    return article.id;
  }

  async function handleBounce(rawId: number, mail: MailMessage): Promise<MailOutcome> {
    const original = mail.bounce?.originalMessageId ? repo.articleForMessageId(mail.bounce.originalMessageId) : null;
    if (!original) {
      repo.markRaw(rawId, { status: 'failed', outcome: 'bounce', error: 'delivery report for a message Hotline did not send (or without its Message-ID)', messageId: mail.messageId, now: now() });
      return 'failed';
    }
    // Only a permanent failure marks the mail failed; a delay, a relay or a delivery is shown as such.
    const what = reportedDelivery(mail.bounce!);
    if (what === 'failed') repo.setDelivery(original.articleId, 'failed');
    const heading = { failed: 'Delivery failed', delayed: 'Delivery delayed (the mail server keeps trying)', delivered: 'Delivered', relayed: 'Relayed onwards (no further reports)', expanded: 'Delivered to a list' }[what];
    await hotline.tickets.addArticle(original.ticketId, {
      kind: 'email-in',
      from: mail.from?.address ?? 'MAILER-DAEMON',
      subject: mail.subject || heading,
      text: `${heading}${mail.bounce?.recipient ? ` to ${mail.bounce.recipient}` : ''}${mail.bounce?.status ? ` (status ${mail.bounce.status})` : ''}.\n\n${mail.text}`,
      messageId: mail.messageId,
      references: mail.references,
      rawMessageId: rawId,
    });
    repo.markRaw(rawId, { status: 'done', outcome: 'bounce', ticketId: original.ticketId, messageId: mail.messageId, now: now() });
    return 'bounce';
  }

  /**
   * Turns a stored raw message into a ticket, a follow-up or a bounce; a message that cannot be
   * read stays flagged. Repeats were recognised when they were stored (and are not filed unless an
   * admin asks: "process again" files whatever it is given).
   */
  async function process(rawId: number): Promise<MailOutcome> {
    const raw = repo.raw(rawId);
    const bytes = repo.rawBytes(rawId);
    if (!raw || !bytes) throw new Error(`no raw message ${rawId}`);
    let mail: MailMessage;
    try {
      mail = await worker.read(bytes);
    } catch (error) {
      // Stopping: left as it is, to be filed at the next start.
      if (error instanceof MailThreadClosedError) throw error;
      repo.markRaw(rawId, { status: 'failed', outcome: 'unreadable', error: `cannot parse: ${(error as Error).message}`, now: now() });
      return 'failed';
    }
    try {
      if (mail.bounce) return await handleBounce(rawId, mail);
      const existing = await followUpTicket(mail);
      if (existing) {
        const queue = await hotline.directory.findQueue(existing.queueId);
        if (!(existing.state === 'closed' && queue?.reopenPolicy === 'new-ticket')) {
          await addMailArticle(existing.id, mail, rawId);
          if (existing.state !== 'open') await hotline.tickets.change(existing.id, { state: 'open' });
          repo.markRaw(rawId, { status: 'done', outcome: 'follow-up', ticketId: existing.id, messageId: mail.messageId, now: now() });
          return 'follow-up';
        }
        return await newTicket(rawId, mail, raw.envelopeTo, existing);
      }
      return await newTicket(rawId, mail, raw.envelopeTo, null);
    } catch (error) {
      hotline.log.error({ err: error, rawId }, 'mail processing failed; the message is kept and flagged');
      repo.markRaw(rawId, { status: 'failed', outcome: 'error', error: (error as Error).message, messageId: mail.messageId, now: now() });
      return 'failed';
    }
  }

  async function newTicket(rawId: number, mail: MailMessage, envelopeTo: string[], linkedTo: Ticket | null): Promise<MailOutcome> {
    const queue = linkedTo ? ((await hotline.directory.findQueue(linkedTo.queueId)) ?? (await queueFor(mail, envelopeTo))) : await queueFor(mail, envelopeTo);
    const customer = linkedTo?.customerId ? await hotline.directory.findCustomer(linkedTo.customerId) : await customerFor(mail);
    const { ticket, article: first } = await hotline.tickets.create({
      queueId: queue.id,
      title: stripReplyPrefixes(mail.subject).replace(/\[Ticket#\s*\d+\]\s*/gi, '') || '(no subject)',
      customerId: customer?.id ?? null,
      article: articleOf(mail, rawId),
    });
    if (linkedTo) await hotline.tickets.change(ticket.id, { linkedTicketId: linkedTo.id });
    await attachAll(first.id, mail);
    const blocked = await autoReply(ticket, queue, customer, mail);
    if (blocked) hotline.log.info({ ttn: ticket.ttn, reason: blocked }, 'no auto-reply');
    repo.markRaw(rawId, { status: 'done', outcome: 'ticket', ticketId: ticket.id, messageId: mail.messageId, now: now() });
    return 'ticket';
  }

  return {
    store,
    process,
    /** Stores, then processes: for the pipe and for tests. */
    async ingest(raw: Buffer, envelope: Envelope): Promise<{ id: number; outcome: MailOutcome }> {
      const { id, duplicate } = await store(raw, envelope);
      if (duplicate) return { id, outcome: 'duplicate' };
      return { id, outcome: await process(id) };
    },
    /** An agent's reply: an outgoing article with the TTN in the subject, queued for sending. */
    async reply(ticket: Ticket, agent: Agent, input: { to: string; subject: string; text: string }): Promise<number> {
      const queue = await hotline.directory.findQueue(ticket.queueId);
      const articles = await hotline.tickets.articles(ticket.id);
      const lastIn = [...articles].reverse().find((a) => a.kind === 'email-in' && a.messageId);
      return enqueue({
        ticket,
        kind: 'agent-reply',
        from: queue?.email ?? settings.mailFrom,
        to: input.to,
        subject: ticketSubject(ticket.ttn, input.subject || ticket.title),
        text: input.text,
        inReplyTo: lastIn?.messageId ?? null,
        references: lastIn?.messageId ? [lastIn.messageId] : [],
        agent,
      });
    },
    status: () => ({ raw: repo.rawCounts(), outbox: repo.outboxCounts() }),
  };
}

export type MailPipeline = ReturnType<typeof createMailPipeline>;
