import { createHash } from 'node:crypto';
import { contentKey } from './content-key.js';
import type { Hotline } from '../app.js';
import { ensureDefaultQueue } from '../bootstrap.js';
import { crashPoint } from '../crash-point.js';
import { DuplicateTtnError, ValidationError } from '../core/errors.js';
import { mailLanguage } from './language.js';
import { languageOf } from '../i18n/i18n.js';
import { autoReplyBlocked, stripReplyPrefixes, ticketSubject } from '../core/mail-rules.js';
import { MAX_TTN_ATTEMPTS, storedFile, ticketTitle } from '../core/ticket-service.js';
import type { Agent, Article, ArticleInput, Customer, Queue, Ticket } from '../core/types.js';
import type { FilingPlan, FilingResult, MailRepository, PlannedArticle, PlannedOutbox } from '../storage/mail-repository.js';
import type { Recipient } from './addresses.js';
import { formatRecipient, looseRecipients, parseRecipients } from './addresses.js';
import { newMessageId } from './compose.js';
import type { MailWorker } from './mail-worker.js';
import { MailThreadClosedError } from './mail-worker.js';
import type { MailMessage } from './parse.js';

export interface MailSettings {
  /** Sender of auto-replies for queues without an address. */
  mailFrom: string;
  /** Auto-replies per sender per 24 hours. */
  autoReplyLimit: number;
  /** Where agents reach the web UI, for links in notices (empty: none). */
  publicUrl?: string;
}

/** Where a raw message came from. */
export interface Envelope {
  source: 'smtp' | 'pipe' | 'imap' | 'test';
  from: string | null;
  to: string[];
}

/** What an agent's reply says; `to`, `cc` and `bcc` are address lists (`Name <addr>, addr`). */
export interface ReplyInput {
  to: string;
  cc?: string;
  bcc?: string;
  subject: string;
  text: string;
  /** A forward keeps "Fwd:" before the ticket's subject. */
  mode?: 'reply' | 'reply-all' | 'forward';
  /** The article answered (threaded on its mail); else the customer's last mail. */
  articleId?: number | null;
  /** Files the agent attached for this reply (removed once it is written). */
  draftIds?: number[];
  /** Files of the ticket sent along (a forward). */
  attachmentIds?: number[];
}

/** The most a reply may carry in files. */
export const MAX_REPLY_FILE_BYTES = 25 * 1024 * 1024;

export type MailOutcome = 'ticket' | 'follow-up' | 'bounce' | 'duplicate' | 'failed';



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
/** What filing, replies and notices use of the core. */
export type PipelineServices = Pick<Hotline, 'clock' | 'directory' | 'events' | 'i18n' | 'log' | 'notices' | 'tickets' | 'ttn'>;

export function createMailPipeline(deps: { hotline: PipelineServices; repo: MailRepository; worker: Pick<MailWorker, 'read' | 'compose'>; settings: MailSettings; onOutbox?: () => void }) {
  const { hotline, repo, worker, settings } = deps;
  const now = () => hotline.clock.now().toISOString();

  async function ownAddresses(): Promise<Set<string>> {
    const queues = await hotline.directory.listQueues();
    return new Set([settings.mailFrom.toLowerCase(), ...queues.map((q) => q.email).filter((e): e is string => !!e)]);
  }

  /** Durably stores the bytes; rejects when storage fails (the sender must retry). */
  async function store(raw: Buffer, envelope: Envelope): Promise<{ id: number; duplicate: boolean }> {
    const head = raw.subarray(0, 64 * 1024).toString('latin1');
    const messageId = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head)?.[1] ?? null;
    const stored = await repo.storeRaw({
      source: envelope.source,
      envelopeFrom: envelope.from,
      envelopeTo: envelope.to.map((t) => t.toLowerCase()),
      messageId,
      sha256: createHash('sha256').update(raw).digest('hex'),
      contentKey: contentKey(raw),
      raw,
      now: now(),
    });
    crashPoint('mail.stored');
    return stored;
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
      // A new customer keeps the language of the first mail (its auto-reply and later ones follow it).
      return await hotline.directory.findOrCreateCustomer({ name: mail.from.name, email: mail.from.address, language: mailLanguage(mail, null) });
    } catch {
      // An address that is not quite one (odd but deliverable): keep the message, without a customer.
      return null;
    }
  }

  function articleOf(mail: MailMessage, rawId: number): ArticleInput {
    return {
      kind: 'email-in' as const,
      from: mail.from ? formatRecipient(mail.from) : (mail.headers.get('from') ?? null),
      to: mail.to.join(', ') || null,
      cc: mail.cc.join(', ') || null,
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

  /** The mail's article with its files (and, for faxes, a PNG of the first page, which browsers show). */
  function mailArticle(mail: MailMessage, rawId: number): PlannedArticle {
    const attachments = mail.attachments.flatMap((a) => [
      storedFile({ filename: a.filename, contentType: a.contentType, content: a.content, contentId: a.contentId }),
      ...(a.preview ? [storedFile({ filename: `${a.filename.replace(/\.tiff?$/i, '')}.png`, contentType: 'image/png', content: a.preview })] : []),
    ]);
    return { article: articleOf(mail, rawId), attachments };
  }

  async function followUpTicket(mail: MailMessage): Promise<Ticket | null> {
    // The TTN in the subject is trusted only with a right check digit, and only for a ticket that exists.
    for (const ttn of hotline.ttn.checker().findTtnInText(mail.subject)) {
      const ticket = await hotline.tickets.findByTtn(ttn);
      if (ticket) return ticket;
    }
    const ids = [mail.inReplyTo, ...mail.references].filter((v): v is string => !!v);
    const ticketId = await repo.ticketForMessageIds(ids);
    return ticketId === null ? null : hotline.tickets.findById(ticketId);
  }

  /** A file id in a reply that is not one the agent may send. */
  function refuse(field: 'attach' | 'forward', id: number): never {
    throw new ValidationError(field === 'attach' ? `attach: file ${id} is not one you attached to a reply on this ticket (sent or removed meanwhile?)` : `forward: file ${id} is not on this ticket`);
  }

  /** An outgoing mail composed now (on the mail thread), to be written with its article. */
  async function outgoing(m: { kind: PlannedOutbox['kind']; from: string; to: Recipient[]; cc?: Recipient[]; bcc?: Recipient[]; subject: string; text: string; inReplyTo: string | null; references: string[]; headers?: Record<string, string>; agent: Agent | null; attachments?: Array<{ filename: string; contentType: string; content: Buffer }> }): Promise<PlannedArticle> {
    const messageId = newMessageId(m.from);
    const raw = await worker.compose({ from: m.from, to: m.to, cc: m.cc, subject: m.subject, text: m.text, inReplyTo: m.inReplyTo, references: m.references, headers: m.headers, attachments: m.attachments }, messageId);
    return {
      article: { kind: 'email-out', from: m.from, to: m.to.map(formatRecipient).join(', '), cc: m.cc?.length ? m.cc.map(formatRecipient).join(', ') : null, subject: m.subject, text: m.text, messageId, inReplyTo: m.inReplyTo, authorAgentId: m.agent?.id ?? null, references: m.references },
      // The files sent are kept on the article too, as the ticket shows them.
      attachments: (m.attachments ?? []).map((a) => storedFile({ filename: a.filename, contentType: a.contentType, content: a.content })),
      // Bcc recipients get it by the envelope only: the composed mail does not name them.
      outbox: { kind: m.kind, envelopeFrom: m.from, envelopeTo: [...m.to, ...(m.cc ?? []), ...(m.bcc ?? [])].map((r) => r.address), messageId, raw },
    };
  }

  /** The auto-reply for a new ticket, or why there is none. */
  async function autoReply(ttn: string, queue: Queue, customer: Customer | null, mail: MailMessage): Promise<PlannedArticle | string> {
    const sender = mail.from?.address ?? null;
    // To the address the sender asked answers to go to, if any.
    const recipient = mail.replyTo?.address ?? sender;
    const own = await ownAddresses();
    const since = new Date(hotline.clock.now().getTime() - 24 * 3600 * 1000).toISOString();
    const check = async (address: string | null) =>
      autoReplyBlocked({ headers: mail.headers, sender: address, ownAddresses: own, sentToSenderToday: address ? await repo.autoRepliesSince(address, since) : 0, dailyLimit: settings.autoReplyLimit });
    // Both must be fit for an answer: a robot's From with a human's Reply-To is still a robot.
    const blocked = (await check(recipient)) ?? (sender && sender !== recipient ? await check(sender) : null);
    if (blocked) return blocked;
    if (!recipient) return 'no sender address';
    const language = mailLanguage(mail, customer?.language);
    // The queue's own wording in that language, else Hotline's (`mail.autoReply`, which admins may reword).
    const template = queue.autoReply?.[language] || hotline.i18n.t(language)('mail.autoReply');
    const from = queue.email ?? settings.mailFrom;
    const text = template
      .replaceAll('{ttn}', ttn)
      .replaceAll('{subject}', mail.subject)
      .replaceAll('{name}', mail.from?.name || mail.replyTo?.name || recipient)
      .replaceAll('{queue}', queue.name);
    const reply = await outgoing({
      kind: 'auto-reply',
      from,
      to: [{ name: '', address: recipient }],
      subject: ticketSubject(ttn, mail.subject),
      text,
      inReplyTo: mail.messageId,
      references: [...mail.references, ...(mail.messageId ? [mail.messageId] : [])],
      // RFC 3834: mark it, so other robots do not answer it.
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Loop': from, Precedence: 'auto_reply' },
      agent: null,
    });
    // Counted again under the write lock: eight messages from one sender filed at once share the limit.
    return { ...reply, limit: { to: recipient, since, max: settings.autoReplyLimit } };
  }

  /** Commits a plan; publishes its events after the commit (and only when this commit filed it). */
  async function commit(plan: FilingPlan): Promise<FilingResult> {
    const result = await repo.commit(plan);
    if (!result.filed) return result;
    const [first, ...rest] = result.articles;
    if (!result.before && first) hotline.events.publish('ticket.created', { ticket: result.ticket, article: first });
    for (const article of result.before ? result.articles : rest) hotline.events.publish('article.added', { ticket: result.ticket, article });
    if (result.before && plan.change) hotline.events.publish('ticket.changed', { ticket: result.ticket, before: result.before, byAgentId: null });
    for (const why of result.skipped) hotline.log.info({ ttn: result.ticket.ttn, reason: why }, 'no auto-reply');
    if (result.outboxIds.length > 0) deps.onOutbox?.();
    return result;
  }

  function reportPlan(rawId: number, mail: MailMessage, original: { articleId: number; ticketId: number }): FilingPlan {
    // Only a permanent failure marks the mail failed; a delay, a relay or a delivery is shown as such.
    const what = reportedDelivery(mail.bounce!);
    const heading = { failed: 'Delivery failed', delayed: 'Delivery delayed (the mail server keeps trying)', delivered: 'Delivered', relayed: 'Relayed onwards (no further reports)', expanded: 'Delivered to a list' }[what];
    const article: ArticleInput = {
      kind: 'email-in',
      from: mail.from?.address ?? 'MAILER-DAEMON',
      subject: mail.subject || heading,
      text: `${heading}${mail.bounce?.recipient ? ` to ${mail.bounce.recipient}` : ''}${mail.bounce?.status ? ` (status ${mail.bounce.status})` : ''}.\n\n${mail.text}`,
      messageId: mail.messageId,
      references: mail.references,
      rawMessageId: rawId,
    };
    return {
      rawId,
      ticket: { id: original.ticketId },
      articles: [{ article, attachments: [] }],
      delivery: what === 'failed' ? { articleId: original.articleId, status: 'failed' } : undefined,
      outcome: { outcome: 'bounce', messageId: mail.messageId },
      now: now(),
    };
  }

  /** What filing this mail writes: a report on its article, a follow-up, or a new ticket (with its TTN taken and its auto-reply composed). */
  async function planFor(rawId: number, mail: MailMessage, envelopeTo: string[]): Promise<{ plan: FilingPlan; outcome: MailOutcome } | null> {
    if (mail.bounce) {
      const original = mail.bounce.originalMessageId ? await repo.articleForMessageId(mail.bounce.originalMessageId) : null;
      return original ? { plan: reportPlan(rawId, mail, original), outcome: 'bounce' } : null;
    }
    const existing = await followUpTicket(mail);
    let linkedTo: Ticket | null = null;
    if (existing) {
      const queue = await hotline.directory.findQueue(existing.queueId);
      if (!(existing.state === 'closed' && queue?.reopenPolicy === 'new-ticket')) {
        return {
          plan: { rawId, ticket: { id: existing.id }, articles: [mailArticle(mail, rawId)], change: existing.state !== 'open' ? { state: 'open' } : undefined, outcome: { outcome: 'follow-up', messageId: mail.messageId }, now: now() },
          outcome: 'follow-up',
        };
      }
      linkedTo = existing;
    }
    const queue = linkedTo ? ((await hotline.directory.findQueue(linkedTo.queueId)) ?? (await queueFor(mail, envelopeTo))) : await queueFor(mail, envelopeTo);
    // Found or made by its address: filing the same mail again finds the same customer.
    const customer = linkedTo?.customerId ? await hotline.directory.findCustomer(linkedTo.customerId) : await customerFor(mail);
    const at = hotline.clock.now();
    const ttn = await hotline.ttn.next(at);
    crashPoint('mail.ttn');
    const reply = await autoReply(ttn, queue, customer, mail);
    if (typeof reply === 'string') hotline.log.info({ ttn, reason: reply }, 'no auto-reply');
    const create = {
      ttn,
      title: ticketTitle(stripReplyPrefixes(mail.subject).replace(/\[Ticket#\s*\d+\]\s*/gi, '')) || '(no subject)',
      queueId: queue.id,
      state: 'new' as const,
      priority: 3,
      ownerId: null,
      customerId: customer?.id ?? null,
      now: at.toISOString(),
    };
    return {
      plan: {
        rawId,
        ticket: { create },
        change: linkedTo ? { linkedTicketId: linkedTo.id } : undefined,
        articles: [mailArticle(mail, rawId), ...(typeof reply === 'string' ? [] : [reply])],
        outcome: { outcome: 'ticket', messageId: mail.messageId },
        now: create.now,
      },
      outcome: 'ticket',
    };
  }

  /**
   * Turns a stored raw message into a ticket, a follow-up or a bounce, in one transaction with its
   * attachments, auto-reply and outbox row; a message that cannot be read stays flagged. Filing is
   * idempotent on the stored message: filed again (the resume pass, "process again", a second
   * process) it is found filed and nothing more is written. Repeats by another route were
   * recognised when they were stored (and are filed only when an admin asks).
   */
  async function process(rawId: number): Promise<MailOutcome> {
    const raw = await repo.raw(rawId);
    const bytes = await repo.rawBytes(rawId);
    if (!raw || !bytes) throw new Error(`no raw message ${rawId}`);
    if (raw.status === 'done') return (raw.outcome as MailOutcome | null) ?? 'ticket';
    let mail: MailMessage;
    try {
      mail = await worker.read(bytes);
    } catch (error) {
      // Stopping: left as it is, to be filed at the next start.
      if (error instanceof MailThreadClosedError) throw error;
      await repo.markRaw(rawId, { status: 'failed', outcome: 'unreadable', error: `cannot parse: ${(error as Error).message}`, now: now() });
      return 'failed';
    }
    try {
      for (let attempt = 1; ; attempt++) {
        const planned = await planFor(rawId, mail, raw.envelopeTo);
        if (!planned) {
          await repo.markRaw(rawId, { status: 'failed', outcome: 'bounce', error: 'delivery report for a message Hotline did not send (or without its Message-ID)', messageId: mail.messageId, now: now() });
          return 'failed';
        }
        try {
          const result = await commit(planned.plan);
          return result.filed ? planned.outcome : ((result.outcome as MailOutcome | null) ?? planned.outcome);
        } catch (error) {
          // Random numbers can collide, and a counter may be behind numbers imported from elsewhere.
          if (error instanceof DuplicateTtnError && attempt < MAX_TTN_ATTEMPTS) continue;
          throw error;
        }
      }
    } catch (error) {
      if (error instanceof MailThreadClosedError) throw error;
      hotline.log.error({ err: error, rawId }, 'mail processing failed; the message is kept and flagged');
      await repo.markRaw(rawId, { status: 'failed', outcome: 'error', error: (error as Error).message, messageId: mail.messageId, now: now() });
      return 'failed';
    }
  }

  /**
   * Whether a message just stored is to be filed: a new one is; so is a redelivery of identical
   * bytes whose first delivery was stored but never filed (the process died before filing it, so
   * the sender never heard "OK" and sent again). Filing is idempotent, so a second process filing
   * the same message at the same moment writes nothing twice.
   */
  const toFile = async (stored: { id: number; duplicate: boolean }): Promise<boolean> => !stored.duplicate || (await repo.raw(stored.id))?.status === 'new';

  return {
    store,
    process,
    toFile,
    /** Stores, then processes: for the pipe and for tests. */
    async ingest(raw: Buffer, envelope: Envelope): Promise<{ id: number; outcome: MailOutcome }> {
      const stored = await store(raw, envelope);
      if (!(await toFile(stored))) return { id: stored.id, outcome: 'duplicate' };
      return { id: stored.id, outcome: await process(stored.id) };
    },
    /**
     * An agent's reply (the web form and the API): the outgoing article and its outbox row in one
     * transaction, with the TTN in the subject and threaded on the customer's last mail. The
     * agent must be able to write to the ticket's queue; addresses are checked by {@link parseRecipients}.
     */
    async reply(ticket: Ticket, agent: Agent, input: ReplyInput): Promise<Article> {
      await hotline.tickets.requireAccess({ agentId: agent.id }, ticket, 'rw');
      const to = parseRecipients(input.to, 'to');
      if (to.length === 0) throw new ValidationError('a reply needs a recipient (to)');
      const cc = parseRecipients(input.cc ?? '', 'cc');
      const bcc = parseRecipients(input.bcc ?? '', 'bcc');
      if (!input.text.trim()) throw new ValidationError('a reply needs some text');
      const queue = await hotline.directory.findQueue(ticket.queueId);
      // Threaded on the mail answered, else on the customer's last one.
      let thread = await repo.lastIncoming(ticket.id);
      if (input.articleId != null) {
        const answered = (await hotline.tickets.articles(ticket.id)).find((a) => a.id === input.articleId);
        if (!answered) throw new ValidationError(`article: there is no article ${input.articleId} on ticket ${ticket.ttn}`);
        if (answered.messageId) thread = { messageId: answered.messageId, references: await repo.referencesOf(answered.id) };
      }
      const files = [
        ...(await repo.draftFiles(input.draftIds ?? [], agent.id, ticket.id)).map((f, i) => f ?? refuse('attach', input.draftIds![i]!)),
        ...(await repo.ticketFiles(input.attachmentIds ?? [], ticket.id)).map((f, i) => f ?? refuse('forward', input.attachmentIds![i]!)),
      ];
      if (files.reduce((n, f) => n + f.content.length, 0) > MAX_REPLY_FILE_BYTES) throw new ValidationError(`attach: a reply may carry ${MAX_REPLY_FILE_BYTES / (1024 * 1024)} MB of files in all`);
      const subject = ticketSubject(ticket.ttn, input.subject || ticket.title);
      const planned = await outgoing({
        kind: 'agent-reply',
        from: queue?.email ?? settings.mailFrom,
        to,
        cc,
        bcc,
        subject: input.mode === 'forward' ? `Fwd: ${subject}` : subject,
        text: input.text,
        inReplyTo: thread?.messageId ?? null,
        references: thread ? [...thread.references, thread.messageId] : [],
        agent,
        attachments: files.map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content })),
      });
      const result = await commit({ rawId: null, ticket: { id: ticket.id }, articles: [planned], deleteDrafts: input.draftIds ?? [], now: now() });
      if (!result.filed) throw new Error('a reply is always written');
      return result.articles[0]!;
    },
    /**
     * Mails the notices agents asked to get by e-mail (My settings), each once, with a link to its
     * ticket; marked auto-generated so that no auto-responder answers them. Returns how many were queued.
     */
    async mailNotices(limit = 50): Promise<number> {
      let queued = 0;
      for (const n of await hotline.notices.toMail(limit)) {
        const [to] = n.email ? looseRecipients(n.email) : [];
        if (!to) {
          await repo.enqueueNotice(n.id, null);
          continue;
        }
        const messageId = newMessageId(settings.mailFrom);
        const t = hotline.i18n.t(languageOf(n.agentLanguage) ?? 'en');
        const link = n.ttn ? (settings.publicUrl ? `${settings.publicUrl.replace(/\/+$/, '')}/tickets/${n.ttn}` : t('mail.noticeTicket', { ttn: n.ttn })) : '';
        const raw = await worker.compose(
          {
            from: settings.mailFrom,
            to: [{ name: n.agentName, address: to.address }],
            subject: n.ttn ? ticketSubject(n.ttn, n.text.slice(0, 150)) : n.text.slice(0, 150),
            text: `${n.text}\n\n${link}\n\n-- \n${t('mail.noticeFooter')}\n`,
            headers: { 'Auto-Submitted': 'auto-generated', 'X-Loop': settings.mailFrom },
          },
          messageId,
        );
        if (await repo.enqueueNotice(n.id, { envelopeFrom: settings.mailFrom, envelopeTo: [to.address], messageId, raw, now: now() })) queued++;
      }
      if (queued) deps.onOutbox?.();
      return queued;
    },
    status: async () => ({ raw: await repo.rawCounts(), outbox: await repo.outboxCounts() }),
  };
}

export type MailPipeline = ReturnType<typeof createMailPipeline>;
