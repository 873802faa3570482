import { createHash } from 'node:crypto';

/**
 * Header fields that mail routes add or rewrite on the way (RFC 5321 trace fields and what MTAs,
 * filters and forwarders commonly stamp): two deliveries of one message differ only in these.
 */
const ROUTE_FIELDS = /^(received|return-path|delivered-to|x-original-to|envelope-to|x-envelope-(from|to)|x-received|received-spf|authentication-results|arc-[a-z-]+|x-spam(-[a-z-]+)?|x-virus(-[a-z-]+)?|x-forwarded-(to|for)|x-rcpt-to|x-delivered-to)$/;

/**
 * What makes two stored messages one message delivered twice: its Message-ID and its content —
 * every header field but the route's (unfolded, whitespace collapsed, in order) and the body
 * (line ends normalised). Null without a Message-ID: then only identical bytes are a repeat.
 */
export function contentKey(raw: Buffer): string | null {
  const text = raw.toString('latin1');
  const split = /\r?\n\r?\n/.exec(text);
  const head = split ? text.slice(0, split.index) : text;
  const body = split ? text.slice(split.index + split[0].length) : '';
  const fields: string[] = [];
  let messageId: string | null = null;
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).replace(/\s+/g, ' ').trim();
    if (name === 'message-id') messageId = value;
    if (!ROUTE_FIELDS.test(name)) fields.push(`${name}:${value}`);
  }
  if (!messageId) return null;
  const hash = createHash('sha256');
  hash.update(fields.join('\n'));
  hash.update('\n\n');
  hash.update(body.replace(/\r\n/g, '\n').replace(/\s+$/, ''));
  return hash.digest('hex');
}
