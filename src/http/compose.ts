// The reply form as the ticket page fills it: a reply, reply-all or forward of a chosen article,
// with the queue's signature, a canned answer where one was chosen, and the quoted text.
import type { Article, Attachment, CannedAnswer, Customer, Queue, Ticket } from '../core/types.js';
import { ticketSubject } from '../core/mail-rules.js';
import { formatRecipient, looseRecipients } from '../mail/addresses.js';
import type { Texts } from '../core/notice-service.js';

export type ComposeMode = 'reply' | 'reply-all' | 'forward';

export interface ComposeForm {
  mode: ComposeMode;
  /** The article answered or forwarded; null: a new mail to the customer. */
  articleId: number | null;
  to: string;
  cc: string;
  subject: string;
  text: string;
  /** The answered article's files, offered (ticked) for a forward. */
  forward: Attachment[];
}

/** How much of a long mail goes into the quote. */
const MAX_QUOTE_CHARS = 20_000;

/** Fills in {customer}, {ttn}, {title}, {agent} and {queue}. */
export function fillPlaceholders(text: string, values: { customer: string; ttn: string; title: string; agent: string; queue: string }): string {
  return text.replace(/\{(customer|ttn|title|agent|queue)\}/g, (_, key: keyof typeof values) => values[key]);
}

const quoted = (text: string) =>
  (text.length > MAX_QUOTE_CHARS ? `${text.slice(0, MAX_QUOTE_CHARS)}\n[…]` : text)
    .replace(/\r\n/g, '\n')
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => (line.startsWith('>') ? `>${line}` : `> ${line}`).trimEnd())
    .join('\n');

const isMail = (a: Article) => a.kind === 'email-in' || a.kind === 'email-out';

/**
 * The form for `mode` on `article` (or, without one, a reply to the customer's last mail). Reply-all
 * answers the article's To and Cc too, but never Hotline's own addresses.
 */
export function composeForm(input: {
  mode: ComposeMode;
  article: Article | null;
  articles: readonly Article[];
  attachments: readonly Attachment[];
  ticket: Ticket;
  queue: Queue | null;
  customer: Customer | null;
  agentName: string;
  canned: CannedAnswer | null;
  ownAddresses: readonly string[];
  /** The words of the mail (the customer's language where known) and its times. */
  words: { t: Texts; time: (iso: string) => string };
}): ComposeForm {
  const { ticket, queue, customer } = input;
  const article = input.article ?? [...input.articles].reverse().find((a) => a.kind === 'email-in') ?? null;
  const values = { customer: customer?.name ?? '', ttn: ticket.ttn, title: ticket.title, agent: input.agentName, queue: queue?.name ?? '' };
  const own = new Set(input.ownAddresses.map((a) => a.toLowerCase()));
  const mode = article && isMail(article) ? input.mode : 'reply';
  // Who a reply goes to: where the customer asked answers to go, else the sender; for our own mail, whom it went to.
  let to = '';
  if (mode !== 'forward') {
    const recipients = article?.kind === 'email-in' ? (article.replyTo ? looseRecipients(article.replyTo) : looseRecipients(article.from)) : article?.kind === 'email-out' ? looseRecipients(article.to) : [];
    to = recipients.map((r) => r.address).join(', ') || customer?.emails[0] || '';
  }
  let cc = '';
  if (mode === 'reply-all' && article) {
    const taken = new Set(to.split(',').map((a) => a.trim().toLowerCase()));
    const others = [...looseRecipients(article.to), ...looseRecipients(article.cc), ...(article.kind === 'email-out' ? [] : looseRecipients(article.from))].filter((r) => {
      const key = r.address.toLowerCase();
      if (own.has(key) || taken.has(key)) return false;
      taken.add(key);
      return true;
    });
    cc = others.map(formatRecipient).join(', ');
  }
  const subject = ticketSubject(ticket.ttn, article?.subject || ticket.title);
  const parts: string[] = [];
  // A greeting (or the canned answer) first: the text starts with a line of its own, which text browsers
  // keep (lynx drops blank lines at the start of a text area), and the agent writes below it.
  const { t, time } = input.words;
  parts.push(input.canned ? fillPlaceholders(input.canned.body, values).trimEnd() : mode === 'forward' || !customer?.name ? t('compose.greetingNoName') : t('compose.greeting', { name: customer.name }));
  if (queue?.signature) parts.push(`-- \n${fillPlaceholders(queue.signature, values).trimEnd()}`);
  if (article && isMail(article) && input.article) {
    const when = time(article.createdAt);
    if (mode === 'forward') {
      parts.push([t('compose.forwarded'), `${t('compose.from')}: ${article.from ?? '-'}`, `${t('compose.date')}: ${when}`, `${t('compose.subject')}: ${article.subject ?? '-'}`, `${t('compose.to')}: ${article.to ?? '-'}`, ...(article.cc ? [`Cc: ${article.cc}`] : []), '', article.text].join('\n'));
    } else {
      parts.push(`${t('compose.wrote', { when, from: article.from ?? t('compose.theCustomer') })}\n${quoted(article.text)}`);
    }
  }
  return {
    mode,
    articleId: input.article && isMail(input.article) ? input.article.id : null,
    to,
    cc,
    subject: mode === 'forward' ? `Fwd: ${subject}` : subject,
    // The agent writes at the top, above the signature and the quote.
    text: `${parts[0]}\n\n\n\n${parts.slice(1).join('\n\n')}`.replace(/\n{3,}$/, '\n'),
    forward: mode === 'forward' && input.article ? input.attachments.filter((f) => f.articleId === input.article!.id) : [],
  };
}
