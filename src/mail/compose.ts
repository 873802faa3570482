import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Recipient } from './addresses.js';

export interface OutgoingMail {
  from: string;
  to: Recipient[];
  /** Shown to every recipient; Bcc is not composed at all (the envelope carries it). */
  cc?: Recipient[];
  subject: string;
  text: string;
  inReplyTo?: string | null;
  references?: string[];
  headers?: Record<string, string>;
  /** Files sent with it. */
  attachments?: Array<{ filename: string; contentType: string; content: Uint8Array }>;
}

/** A Message-ID under the sender's domain, so replies come back to a known id. */
export function newMessageId(from: string): string {
  const domain = from.split('@')[1]?.replace(/[>\s]/g, '') || 'hotline.invalid';
  return `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${domain}>`;
}

/** Builds the complete message once (nodemailer's composer), so the outbox sends exactly what was stored. */
export async function composeMail(mail: OutgoingMail, messageId: string): Promise<Buffer> {
  const composer = new MailComposer({
    from: mail.from,
    to: mail.to,
    cc: mail.cc?.length ? mail.cc : undefined,
    subject: mail.subject,
    text: mail.text,
    messageId,
    inReplyTo: mail.inReplyTo ?? undefined,
    references: mail.references?.length ? mail.references : undefined,
    headers: mail.headers,
    attachments: mail.attachments?.map((a) => ({ filename: a.filename, contentType: a.contentType, content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength) })),
  });
  return composer.compile().build();
}
