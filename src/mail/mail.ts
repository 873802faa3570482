import type { Hotline } from '../app.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createMailRepository } from '../storage/mail-repository.js';
import { startImapPoller } from './imap-poller.js';
import { createOutbox } from './outbox.js';
import { createMailPipeline } from './pipeline.js';
import type { SmtpListener } from './smtp-listener.js';
import { startSmtpListener } from './smtp-listener.js';

/** The e-mail channel's parts, built from the config; listeners start only with `listen: true`. */
export async function startMail(hotline: Hotline, config: Config, options: { listen: boolean; log?: Logger }) {
  const log = options.log ?? hotline.log;
  const repo = createMailRepository(hotline.db);
  const outbox = createOutbox({ repo, clock: hotline.clock, log, options: { relayUrl: config.relayUrl, dataDir: config.dataDir } });
  const pipeline = createMailPipeline({ hotline, repo, settings: { mailFrom: config.mailFrom, autoReplyLimit: config.autoReplyLimit }, onOutbox: () => void outbox.flush() });
  const afterStore = (id: number, duplicate: boolean) => {
    if (!duplicate) pipeline.process(id).catch((error) => log.error({ err: error, rawId: id }, 'processing a stored message failed'));
  };
  let smtp: SmtpListener | null = null;
  let imap: ReturnType<typeof startImapPoller> | null = null;
  if (options.listen) {
    outbox.start();
    void outbox.flush();
    if (config.smtpEnabled) {
      smtp = await startSmtpListener({
        host: config.smtpHost,
        port: config.smtpPort,
        maxBytes: config.mailMaxBytes,
        domains: config.mailDomains.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean),
        log,
        store: (raw, envelope) => pipeline.store(raw, envelope),
        onStored: afterStore,
      });
    }
    if (config.imapUrl) {
      imap = startImapPoller({ url: config.imapUrl, intervalMs: config.imapPollSeconds * 1000, doneMailbox: config.imapDoneMailbox, log, store: (raw, envelope) => pipeline.store(raw, envelope), onStored: afterStore });
    }
  }
  return {
    pipeline,
    outbox,
    repo,
    smtpPort: () => smtp?.port ?? null,
    /** One line for the admin overview. */
    status(): string {
      const { raw, outbox: out } = pipeline.status();
      const parts = [
        smtp ? `SMTP listening on ${config.smtpHost}:${smtp.port}` : 'SMTP listener off',
        imap ? `IMAP ${imap.status()}` : 'no IMAP mailbox',
        `outbox: ${config.relayUrl ? 'relay' : `.eml files in ${outbox.folder}`} (${out.pending ?? 0} pending, ${out.sent ?? 0} sent, ${out.failed ?? 0} failed)`,
        `messages: ${raw.done ?? 0} filed, ${(raw.failed ?? 0) + (raw.duplicate ?? 0)} flagged`,
      ];
      return parts.join('; ');
    },
    async close(): Promise<void> {
      imap?.stop();
      await smtp?.close();
      await outbox.stop();
    },
  };
}

export type Mail = Awaited<ReturnType<typeof startMail>>;
