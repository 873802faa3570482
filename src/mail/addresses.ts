import addressparser from 'nodemailer/lib/addressparser/index.js';
import { ValidationError } from '../core/errors.js';

/** A mailbox as a reply names it: `name` may be empty. */
export interface Recipient {
  name: string;
  address: string;
}

/** More recipients than a helpdesk reply has; a longer list is a mistake or abuse. */
const MAX_RECIPIENTS = 50;
// One @, no spaces, quotes, brackets or separators left over: what the parser could not make an address of.
const ADDRESS = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * An address field as an agent types it — `Name <addr>`, `"Doe, Jane" <addr>`, a plain address,
 * several separated by commas — parsed by nodemailer's address parser (the one its composer uses,
 * so what is checked is what is sent). Refuses, naming the field and the entry, anything that is
 * not an address, and control characters anywhere (a line break would start a new header).
 */
export function parseRecipients(field: string, name: string): Recipient[] {
  if (CONTROL.test(field)) throw new ValidationError(`${name}: line breaks and control characters are not allowed`);
  if (!field.trim()) return [];
  const parsed = addressparser(field, { flatten: true });
  if (parsed.length > MAX_RECIPIENTS) throw new ValidationError(`${name}: at most ${MAX_RECIPIENTS} addresses`);
  for (const r of parsed) {
    if (!ADDRESS.test(r.address)) throw new ValidationError(`${name}: "${r.name || r.address || field.trim()}" is not an e-mail address`);
  }
  return parsed.map((r) => ({ name: r.name, address: r.address }));
}

/** `Name <addr>` (the name quoted when it needs to be), or the plain address: how an article shows it. */
export function formatRecipient(r: Recipient): string {
  if (!r.name) return r.address;
  return /^[\p{L}\p{N} .'-]+$/u.test(r.name) ? `${r.name} <${r.address}>` : `"${r.name.replace(/["\\]/g, '\\$&')}" <${r.address}>`;
}

/** The addresses in a stored address field (an article's To or Cc), leaving out whatever is not one: for prefilling a reply. */
export function looseRecipients(field: string | null | undefined): Recipient[] {
  if (!field || CONTROL.test(field)) return [];
  return addressparser(field, { flatten: true })
    .filter((r) => ADDRESS.test(r.address))
    .map((r) => ({ name: r.name, address: r.address }));
}
