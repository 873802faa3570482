/**
 * Rules of the e-mail channel that need no I/O: when not to auto-reply (RFC 3834 and
 * common practice), and how subjects carry the TTN.
 */

/** Why no auto-reply may go to this message, or null when one may. */
export function autoReplyBlocked(input: {
  headers: ReadonlyMap<string, string>;
  sender: string | null;
  ownAddresses: ReadonlySet<string>;
  /** Auto-replies this sender got in the last 24 hours, and the limit. */
  sentToSenderToday: number;
  dailyLimit: number;
}): string | null {
  const h = (name: string) => input.headers.get(name)?.trim();
  const auto = h('auto-submitted');
  if (auto && !/^no\b/i.test(auto)) return `Auto-Submitted: ${auto}`;
  const precedence = h('precedence');
  if (precedence && /^(bulk|list|junk|auto_reply)$/i.test(precedence)) return `Precedence: ${precedence}`;
  if (h('x-loop')) return 'X-Loop present';
  // Auto-responders' own marks, as OTRS/Znuny honour them (and their own loop header).
  for (const name of ['X-Autoreply', 'X-Autorespond', 'X-OTRS-Loop']) {
    const value = h(name.toLowerCase());
    if (value !== undefined && !/^(no|false|0)$/i.test(value)) return `${name}: ${value || '(empty)'}`;
  }
  if (h('list-id')) return 'List-Id present (mailing list)';
  if (h('list-unsubscribe')) return 'List-Unsubscribe present (mailing list)';
  if (h('x-auto-response-suppress') && /\b(all|oof|autoreply)\b/i.test(h('x-auto-response-suppress')!)) return 'X-Auto-Response-Suppress';
  const sender = input.sender?.toLowerCase() ?? '';
  if (!sender) return 'no sender address';
  const local = sender.split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)([+.-]|$)/.test(local)) return `automatic sender ${sender}`;
  if (input.ownAddresses.has(sender)) return `our own address ${sender}`;
  if (input.sentToSenderToday >= input.dailyLimit) return `limit of ${input.dailyLimit} auto-replies a day reached for ${sender}`;
  return null;
}

/** `Re: AW: Fwd: subject` → `subject`, for the auto-reply and new-ticket titles. */
export function stripReplyPrefixes(subject: string): string {
  return subject.replace(/^\s*((re|aw|fwd?|wg|sv|antw)\s*(\[\d+\])?\s*:\s*)+/i, '').trim();
}

/** The subject of a message about a ticket: `[Ticket#<TTN>] <subject>`, without a second hook. */
export function ticketSubject(ttn: string, subject: string, hook = 'Ticket#'): string {
  const clean = stripReplyPrefixes(subject).replace(new RegExp(`\\[${hook.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:?\\s*\\d+\\]\\s*`, 'gi'), '').trim();
  return `[${hook}${ttn}] ${clean || '(no subject)'}`;
}
