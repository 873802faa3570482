import type { Agent, Article, Ticket } from '../core/types.js';
import type { ReplyInput } from '../mail/pipeline.js';
import type { Mail } from '../mail/mail.js';
import type { DialOutcome, OriginateRequest, Pbx } from '../pbx/pbx.js';
import type { RawMessage } from '../storage/mail-repository.js';

/** The bridge's status, and (from `hotline serve`) where pops reach: this instance, or every one through Redis. */
export type PbxStatus = ReturnType<Pbx['status']> & { pops?: string; popsDegraded?: boolean };

/**
 * What the pages and the API need of the phone system. In the service they run in the web process
 * and reach the bridge in the main process through messages (see `src/web/`), hence the promises.
 */
export interface WebPbx {
  status(): Promise<PbxStatus>;
  /** As {@link Pbx.originate}: resolves once Asterisk took the request; `result` once the customer's line answered or not. */
  originate(request: OriginateRequest): Promise<{ result: Promise<DialOutcome> }>;
}

/** What the pages need of the e-mail channel. */
export interface WebMail {
  /** One line for the admin overview. */
  status(): Promise<string>;
  counts(): ReturnType<Mail['pipeline']['status']>;
  /** Stored messages that could not be filed, and duplicates, newest first: a page of them and how many there are. */
  flagged(offset: number, limit: number): Promise<{ items: RawMessage[]; total: number }>;
  rawBytes(id: number): Promise<Buffer | null>;
  /** Files a stored message again (an admin's "process again"); false when there is no such message. */
  reprocess(id: number): Promise<boolean>;
  /** An agent's reply, queued for sending; the outgoing article. */
  reply(ticket: Ticket, agent: Agent, input: ReplyInput): Promise<Article>;
}

/** The bridge as the pages see it, in the same thread. */
export function localPbx(pbx: Pbx): WebPbx {
  return { status: async () => pbx.status(), originate: (request) => pbx.originate(request) };
}

/** The e-mail channel as the pages see it, in the same thread. */
export function localMail(mail: Mail): WebMail {
  return {
    status: async () => mail.status(),
    counts: () => mail.pipeline.status(),
    flagged: async (offset, limit) => ({ items: await mail.repo.listFlagged(offset, limit), total: await mail.repo.countFlagged() }),
    rawBytes: async (id) => mail.repo.rawBytes(id),
    async reprocess(id) {
      if (!(await mail.repo.raw(id))) return false;
      await mail.pipeline.process(id);
      return true;
    },
    reply: (ticket, agent, input) => mail.pipeline.reply(ticket, agent, input),
  };
}
