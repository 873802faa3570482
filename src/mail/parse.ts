import { htmlToText } from 'html-to-text';
import { simpleParser } from 'mailparser';
import type { AddressObject, ParsedMail } from 'mailparser';
import { sanitizeMailHtml } from '../http/sanitize.js';
import { tiffToPng } from './fax-preview.js';
import { mendMail } from './mend.js';
import { uuBlocks } from './uuencode.js';

/** A parsed message, reduced to what the pipeline needs; header names lower-case. */
export interface MailMessage {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  /**
   * Who wrote it: the first usable address of `From`, else of `Reply-To`, `Sender`, `Return-Path`
   * (display name decoded). The customer is found or created by it.
   */
  from: { address: string; name: string } | null;
  /** Where answers go when the sender asks for it (`Reply-To`), else null: answers go to `from`. */
  replyTo: { address: string; name: string } | null;
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  /** As the sender wrote it from `parseMail`; sanitised (inline `cid:` images kept) from `readMail`. */
  html: string | null;
  headers: Map<string, string>;
  /** `preview`: for a TIFF (a fax), a PNG of its first page to show inline (from `readMail`). */
  attachments: Array<{ filename: string; contentType: string; content: Buffer; contentId: string | null; related: boolean; preview?: Buffer | null }>;
  /**
   * For a delivery report (multipart/report): the Message-ID of the returned message, and what the
   * report says happened (RFC 3464 `Action`: failed, delayed, delivered, relayed, expanded; `Status`).
   */
  bounce: { originalMessageId: string | null; status: string | null; recipient: string | null; action: string | null } | null;
}

const addresses = (value: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? [value] : [])
    .flatMap((a) => a.value)
    .map((v) => v.address?.toLowerCase())
    .filter((a): a is string => !!a);

/** An address mail can be sent to: local part, @, a domain with a dot; no spaces or brackets. */
const USABLE = /^[^\s@<>()",;:]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

// RFC 5322 atext: a quoted local part made only of these is the same address without its quotes
// (a fax gateway's `"#FAX#*49000783135#"@znuny.fax` is `#FAX#*49000783135#@znuny.fax`).
const QUOTED_ATOMS = /^"([a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"@/i;

/** The first usable mailbox of these header values, in order. */
function firstUsable(...values: Array<AddressObject | AddressObject[] | undefined>): { address: string; name: string } | null {
  for (const value of values)
    for (const mailbox of (Array.isArray(value) ? value : value ? [value] : []).flatMap((a) => a.value)) {
      const address = mailbox.address?.trim().toLowerCase().replace(QUOTED_ATOMS, '$1@');
      if (address && USABLE.test(address)) return { address, name: oneLine(mailbox.name || '') };
    }
  return null;
}

/** `Return-Path: <a@b.example>` (or bare) as a mailbox; `<>` (a bounce's) is none. */
function returnPath(value: string | undefined): AddressObject | undefined {
  const address = /<([^>]*)>/.exec(value ?? '')?.[1] ?? value?.trim();
  return address ? { value: [{ address, name: '' }], html: '', text: address } : undefined;
}

const idList = (value: string | string[] | undefined): string[] => (Array.isArray(value) ? value : value ? value.split(/\s+/) : []).map((v) => v.trim()).filter(Boolean);

function headerText(parsed: ParsedMail): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of parsed.headerLines) {
    const value = line.line.slice(line.line.indexOf(':') + 1).trim();
    if (!headers.has(line.key)) headers.set(line.key, value);
  }
  return headers;
}

/** Finds the returned message's Message-ID and the status in a delivery report. */
function bounceOf(parsed: ParsedMail, headers: Map<string, string>, bytes: Buffer): MailMessage['bounce'] {
  if (!/^multipart\/report/i.test(headers.get('content-type') ?? '')) return null;
  const raw = bytes.toString('latin1');
  let originalMessageId: string | null = null;
  let status: string | null = null;
  let recipient: string | null = null;
  let action: string | null = null;
  for (const part of parsed.attachments) {
    const text = part.content.toString('utf8');
    if (/^(message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)$/i.test(part.contentType)) {
      originalMessageId ??= /^message-id:\s*(<[^>]+>)/im.exec(text)?.[1] ?? null;
    } else if (/^message\/(global-)?delivery-status$/i.test(part.contentType)) {
      status ??= /^status:\s*(\S+)/im.exec(text)?.[1] ?? null;
      recipient ??= /^final-recipient:\s*[^;]+;\s*(\S+)/im.exec(text)?.[1] ?? null;
      action ??= /^action:\s*([a-z]+)/im.exec(text)?.[1]?.toLowerCase() ?? null;
    }
  }
  // mailparser may fold the delivery-status part into the text: read its fields from the message itself.
  status ??= /^status:\s*(\d\.\d+\.\d+)/im.exec(raw)?.[1] ?? null;
  recipient ??= /^final-recipient:\s*[^;]+;\s*(\S+)/im.exec(raw)?.[1] ?? null;
  action ??= /^action:\s*([a-z]+)/im.exec(raw)?.[1]?.toLowerCase() ?? null;
  return { originalMessageId, status, recipient, action };
}

// C0 controls and DEL; a subject or a name keeps none of them, shown text keeps tabs and line ends.
const CONTROLS_IN_LINE = /[\u0000-\u001f\u007f]+/g;
const CONTROLS_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const oneLine = (value: string): string => value.replace(CONTROLS_IN_LINE, ' ').replace(/ {2,}/g, ' ').trim();
const shown = (value: string): string => value.replace(CONTROLS_IN_TEXT, '');

// File name extensions for parts that come without a name.
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/jpg': 'jpg', 'image/pjpeg': 'jpg', 'image/png': 'png', 'image/x-png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'image/bmp': 'bmp',
  'image/tiff': 'tif', 'application/pdf': 'pdf', 'text/plain': 'txt', 'text/html': 'html', 'text/calendar': 'ics', 'text/csv': 'csv', 'application/zip': 'zip',
  'application/msword': 'doc', 'application/vnd.ms-excel': 'xls', 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/mpeg': 'mp3', 'message/delivery-status': 'txt',
};

/**
 * A name for a part sent without one: an attached message by its subject (`Printer broken.eml`),
 * anything else by its type and place (`image-2.jpg`, `application-3.bin`).
 */
async function unnamedPartName(contentType: string, content: Buffer, n: number): Promise<string> {
  const type = (contentType || 'application/octet-stream').toLowerCase();
  if (type === 'message/rfc822' || type === 'message/global') {
    const subject = await simpleParser(content, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true }).then(
      (m) => oneLine(m.subject ?? ''),
      () => '',
    );
    const safe = subject.replace(/[\\/:*?"<>|]+/g, '_').slice(0, 100).trim();
    return `${safe || `message-${n}`}.eml`;
  }
  const [major = 'application', minor = ''] = type.split('/');
  return `${major}-${n}.${EXTENSIONS[type] ?? (/^[a-z0-9]{1,8}$/.test(minor) ? minor : 'bin')}`;
}

/** The type of a file by its name's extension, for files that come without one (uuencoded in a body). */
function typeByName(name: string): string {
  const extension = /\.([a-z0-9]{1,8})$/i.exec(name)?.[1]?.toLowerCase();
  return Object.entries(EXTENSIONS).find(([, e]) => e === extension)?.[0] ?? 'application/octet-stream';
}

/**
 * The text of an HTML body that came without a text part (mailparser converts only a root HTML part):
 * what search, previews and text browsers show. Images are left out, not shown as their `cid:`.
 */
function textOf(html: string | false | undefined): string {
  if (typeof html !== 'string' || !html.trim()) return '';
  try {
    return htmlToText(html, { wordwrap: false, limits: { maxDepth: 1000, maxInputLength: 5 * 1024 * 1024 }, selectors: [{ selector: 'img', format: 'skip' }] });
  } catch {
    return '';
  }
}

/**
 * Parses raw bytes with mailparser (after `mendMail` declared what the sender did not); throws when
 * the message cannot be read at all.
 */
export async function parseMail(raw: Buffer): Promise<MailMessage> {
  const parsed = await simpleParser(await mendMail(raw), { skipImageLinks: true, skipTextToHtml: true, maxHtmlLengthToParse: 5 * 1024 * 1024 });
  // Files uuencoded into a plain-text body are attachments, as the sender's mailer meant.
  const inBody = uuBlocks(parsed.text || textOf(parsed.html));
  const uuFiles = inBody.files.map((f) => ({ filename: oneLine(f.name), contentType: typeByName(f.name), content: f.data, contentId: null, related: false }));
  const headers = headerText(parsed);
  const replyTo = firstUsable(parsed.replyTo);
  const from = firstUsable(parsed.from) ?? replyTo ?? firstUsable(parsed.headers.get('sender') as AddressObject | undefined, returnPath(headers.get('return-path')));
  return {
    messageId: parsed.messageId ?? null,
    inReplyTo: parsed.inReplyTo ?? null,
    references: idList(parsed.references),
    from,
    replyTo,
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: oneLine(parsed.subject ?? ''),
    text: shown(inBody.text),
    html: typeof parsed.html === 'string' ? shown(parsed.html) : null,
    headers,
    attachments: await Promise.all(
      parsed.attachments.map(async (a, i) => ({
        filename: (a.filename && oneLine(a.filename)) || (await unnamedPartName(a.contentType, a.content, i + 1)),
        contentType: a.contentType || 'application/octet-stream',
        content: a.content,
        contentId: a.cid ?? null,
        related: a.related === true,
      })),
    ).then((parts) => [...parts, ...uuFiles]),
    bounce: bounceOf(parsed, headers, raw),
  };
}

/**
 * What the pipeline files: the parsed message with its HTML already made safe to store and show,
 * and a PNG preview of each TIFF (faxes), which browsers do not show.
 */
export async function readMail(raw: Buffer): Promise<MailMessage> {
  const mail = await parseMail(raw);
  return {
    ...mail,
    html: mail.html ? sanitizeMailHtml(mail.html, undefined, { keepCid: true }) : null,
    attachments: mail.attachments.map((a) => (/^image\/tiff?$/i.test(a.contentType) ? { ...a, preview: tiffToPng(a.content) } : a)),
  };
}
