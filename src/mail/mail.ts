import type { Hotline } from '../app.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { startImapPoller } from './imap-poller.js';
import { createLeaseKeeper } from '../core/leases.js';
import { createMailWorker } from './mail-worker.js';
import { createOutbox } from './outbox.js';
import { createMailPipeline } from './pipeline.js';
import type { PipelineServices } from './pipeline.js';
import { clientConnectionBudget } from '../fd-budget.js';
import { ListenError } from '../listen-error.js';
import type { SmtpListener } from './smtp-listener.js';
import { startSmtpListener } from './smtp-listener.js';

/** How long files attached to a reply that is never sent are kept. */
const DRAFT_KEEP_MS = 7 * 24 * 60 * 60 * 1000;

/** How often notices to be mailed are looked for (those written in this process are mailed at once). */
const NOTICE_MAIL_CHECK_MS = 10_000;

/** How often pending tickets are checked for a reminder that is due. */
const REMINDER_CHECK_MS = 30_000;

/** Stored messages filed at once; more only add memory, the work shares two threads. */
const FILING_AT_ONCE = 8;

/**
 * The background work one instance among several on a database does at a time, each under a lease
 * of its own (src/core/leases.ts): another instance takes a piece over within `leaseSeconds` of its holder's death.
 */
export const BACKGROUND_LEASES = ['outbox', 'mail-resume', 'reminders', 'notice-mail', 'imap'] as const;

/** What the e-mail channel uses of the core. */
export type MailServices = PipelineServices & Pick<Hotline, 'mailStore' | 'leases' | 'clock' | 'tickets' | 'drafts' | 'events' | 'log'>;

/**
 * The e-mail channel's parts, built from the config; listeners (and the background work) start only
 * with `listen: true`. `send: false` leaves the outbox to the instances with the `mail` role: a web
 * instance without it only queues agents' replies.
 */
export async function startMail(hotline: MailServices, config: Config, options: { listen: boolean; send?: boolean; log?: Logger }) {
  const log = options.log ?? hotline.log;
  const repo = hotline.mailStore;
  const send = options.send ?? true;
  // Only `hotline serve` does background work; `hotline ingest` files its one message and sends what it can.
  const leases = options.listen
    ? createLeaseKeeper({
        store: hotline.leases,
        holder: config.instanceId,
        // (Whether the instance is alive is its `instance:` lease, kept by the composition root.)
        names: [...BACKGROUND_LEASES],
        now: () => hotline.clock.now().getTime(),
        ttlMs: config.leaseSeconds * 1000,
        renewMs: (config.leaseSeconds * 1000) / 3,
        onError: (error) => log.warn({ err: (error as Error).message }, 'could not renew the background leases; the work pauses where they run out'),
        onChange: (name, held) => log.info({ lease: name, instance: config.instanceId }, held ? `this instance now does "${name}"` : `another instance does "${name}" now`),
      })
    : null;
  const holds = (name: (typeof BACKGROUND_LEASES)[number]): boolean => !leases || leases.held(name);
  const outbox = createOutbox({ repo, clock: hotline.clock, log, options: { relayUrl: config.relayUrl, dataDir: config.dataDir, mayRun: () => send && holds('outbox') } });
  const worker = createMailWorker({ log });
  const pipeline = createMailPipeline({ hotline, repo, worker, settings: { mailFrom: config.mailFrom, autoReplyLimit: config.autoReplyLimit, publicUrl: config.publicUrl }, onOutbox: () => void outbox.flush() });
  // Messages being filed by this process (so none is filed twice, and stopping can wait for them),
  // a few at a time: senders are answered as soon as a message is stored, and a flood of stored
  // messages must wait here as ids, not as parsed messages in memory.
  const filing = new Map<number, Promise<unknown>>();
  const toFile = new Set<number>();
  let stopping = false;
  function file(id: number): void {
    if (filing.has(id)) return;
    toFile.add(id);
    fileNext();
  }
  function fileNext(): void {
    while (!stopping && filing.size < FILING_AT_ONCE && toFile.size > 0) {
      const id = toFile.values().next().value as number;
      toFile.delete(id);
      const done = pipeline
        .process(id)
        .catch((error) => log.error({ err: error, rawId: id }, 'processing a stored message failed; it stays stored and is tried again'))
        .finally(() => {
          filing.delete(id);
          fileNext();
        });
      filing.set(id, done);
    }
  }
  const afterStore = (id: number, duplicate: boolean) =>
    void pipeline
      .toFile({ id, duplicate })
      .then((yes) => yes && file(id))
      // Stored and acknowledged: the resume pass files it later.
      .catch((error: unknown) => log.warn({ err: (error as Error).message, rawId: id }, 'could not look at a stored message; it is filed by the next resume pass'));
  /**
   * Files what was stored (and acknowledged) but never filed: the service stopped in between. At
   * start, everything; later, only messages older than a minute, so one that `hotline ingest` is
   * filing right now is mostly left to it (were both to file it, filing is idempotent).
   */
  function resume(olderThanMs = 60_000): void {
    if (!holds('mail-resume')) return;
    repo
      .unfiled(new Date(hotline.clock.now().getTime() - olderThanMs).toISOString())
      .then((ids) => ids.forEach(file))
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not look for stored mail left unfiled; looked for again later'));
  }
  let resumeTimer: NodeJS.Timeout | undefined;
  let reminderTimer: NodeJS.Timeout | undefined;
  let noticeTimer: NodeJS.Timeout | undefined;
  let smtp: SmtpListener | null = null;
  let imap: ReturnType<typeof startImapPoller> | null = null;
  if (leases) {
    await leases.start();
    outbox.start();
    void outbox.flush();
    resume(0);
    resumeTimer = setInterval(resume, 60_000);
    resumeTimer.unref();
    // The service's other background work runs here too, off the call path: pending tickets whose reminder is due come back.
    const wake = () => {
      if (!holds('reminders')) return;
      void hotline.tickets.wakeDue().catch((error: unknown) => log.warn({ err: error }, 'waking pending tickets failed; tried again shortly'));
      // Files attached to replies never sent are kept a week.
      void hotline.drafts.purgeOlderThan(new Date(hotline.clock.now().getTime() - DRAFT_KEEP_MS).toISOString()).catch((error: unknown) => log.warn({ err: error }, 'removing old reply files failed'));
    };
    wake();
    reminderTimer = setInterval(wake, REMINDER_CHECK_MS);
    reminderTimer.unref();
    // Notices agents want by e-mail: queued within seconds of being written (by any process).
    const mailNotices = (): void => {
      if (holds('notice-mail')) void pipeline.mailNotices().catch((error: unknown) => log.warn({ err: error }, 'mailing notices failed; tried again shortly'));
    };
    noticeTimer = setInterval(mailNotices, NOTICE_MAIL_CHECK_MS);
    noticeTimer.unref();
    hotline.events.on('notice.created', mailNotices);
    if (config.smtpEnabled) {
      try {
        smtp = await startSmtpListener({
          host: config.smtpHost,
          port: config.smtpPort,
          maxBytes: config.mailMaxBytes,
          domains: config.mailDomains.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean),
          maxConnectionsPerAddress: config.smtpMaxConnectionsPerAddress,
          maxClients: clientConnectionBudget()?.smtp,
          log,
          store: (raw, envelope) => pipeline.store(raw, envelope),
          onStored: afterStore,
        });
      } catch (error) {
        // Nothing half-started may keep the process alive: stop what runs, then say why.
        clearInterval(resumeTimer);
        clearInterval(reminderTimer);
        clearInterval(noticeTimer);
        await leases?.stop();
        await outbox.stop();
        await worker.close();
        await repo.close();
        throw new ListenError('the SMTP listener', 'smtpHost / smtpPort', config.smtpHost, config.smtpPort, error as NodeJS.ErrnoException);
      }
    }
    if (config.imapUrl) {
      imap = startImapPoller({ url: config.imapUrl, intervalMs: config.imapPollSeconds * 1000, doneMailbox: config.imapDoneMailbox, log, mayPoll: () => holds('imap'), store: (raw, envelope) => pipeline.store(raw, envelope), onStored: afterStore });
    }
  }
  return {
    pipeline,
    outbox,
    repo,
    /** The background work's leases (null for `hotline ingest`). */
    leases,
    smtpPort: () => smtp?.port ?? null,
    /** One line for the admin overview. */
    async status(): Promise<string> {
      const { raw, outbox: out } = await pipeline.status();
      const parts = [
        ...(options.listen
          ? [smtp ? `SMTP listening on ${config.smtpHost}:${smtp.port}` : 'SMTP listener off', imap ? `IMAP ${imap.status()}` : 'no IMAP mailbox']
          : ['mail is received and sent by the instances with the mail role (services)']),
        `outbox: ${config.relayUrl ? 'relay' : `.eml files in ${outbox.folder}`} (${out.pending ?? 0} pending, ${out.sent ?? 0} sent, ${out.failed ?? 0} failed)`,
        `messages: ${raw.done ?? 0} filed, ${(raw.failed ?? 0) + (raw.duplicate ?? 0)} flagged`,
      ];
      return parts.join('; ');
    },
    async close(): Promise<void> {
      clearInterval(resumeTimer);
      clearInterval(reminderTimer);
      clearInterval(noticeTimer);
      imap?.stop();
      await smtp?.close();
      // Messages still waiting to be filed stay stored, to be filed at the next start.
      stopping = true;
      // Messages being filed are finished (for up to 10 s); any left are filed at the next start.
      let waited: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(filing.values()), new Promise((r) => (waited = setTimeout(r, 10_000)))]);
      clearTimeout(waited);
      await outbox.stop();
      // Given up last: another instance takes the work over at once.
      await leases?.stop();
      await worker.close();
      await repo.close();
    },
  };
}

export type Mail = Awaited<ReturnType<typeof startMail>>;
