import { randomUUID } from 'node:crypto';
import { crashPoint } from '../crash-point.js';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Clock } from '../core/ticket-service.js';
import type { Logger } from '../logger.js';
import type { MailRepository, OutboxItem } from '../storage/mail-repository.js';

export interface OutboxOptions {
  /** `smtp://user:pass@host:587` (or smtps://); empty: write .eml files to `<dataDir>/outbox/`. */
  relayUrl: string;
  dataDir: string;
  /** Attempts before a message is given up (and its article marked failed). */
  maxAttempts?: number;
  /** How often due messages are looked for. */
  intervalMs?: number;
  /** False while another instance sends (it holds the outbox lease): messages wait for it. */
  mayRun?: () => boolean;
}

/**
 * How long a sender holds a message it is sending. The relay's deadlines below end every attempt
 * well before: only a sender that died mid-send leaves a claim to run out, and then the message is
 * sent again (with the same Message-ID) — at most once otherwise.
 */
const CLAIM_MS = 10 * 60_000;
const RELAY_DEADLINES = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000, dnsTimeout: 30_000 };
/** Messages sent in one run at most; the next run goes on. */
const DRAIN_LIMIT = 500;

/** 1 min, 2 min, 4 min … capped at 6 hours. */
export function retryDelayMs(attempts: number): number {
  return Math.min(6 * 3600_000, 60_000 * 2 ** Math.max(0, attempts));
}

/**
 * Sends what the outbox holds, oldest first: through the configured relay (nodemailer),
 * or — the embedded default — as .eml files. Each message is claimed before it is sent, so other
 * senders on the same database skip it. Failures are retried with backoff; nothing leaves the
 * table until it is sent or given up.
 */
export function createOutbox(deps: { repo: MailRepository; clock: Clock; log: Logger; options: OutboxOptions }) {
  const { repo, clock, log, options } = deps;
  const maxAttempts = options.maxAttempts ?? 10;
  const folder = join(options.dataDir, 'outbox');
  const transport: Transporter | null = options.relayUrl ? nodemailer.createTransport({ url: options.relayUrl, ...RELAY_DEADLINES }) : null;
  // Who holds a claim: this process and thread, and this outbox among others in it.
  const sender = `${hostname()}:${process.pid}:${threadId}:${randomUUID().slice(0, 8)}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = false;

  async function deliver(item: OutboxItem): Promise<void> {
    if (transport) {
      await transport.sendMail({ envelope: { from: item.envelopeFrom, to: item.envelopeTo }, raw: item.raw });
      return;
    }
    const name = `${String(item.id).padStart(8, '0')}.eml`;
    // Written whole, then renamed: a reader never sees half a message. Off the main thread: creating
    // a file can take a millisecond while the disk is busy, and calls must not wait for it.
    try {
      await writeFile(join(folder, `.${name}.tmp`), item.raw);
    } catch (error) {
      // First message, or the folder was removed: make it and write again.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(folder, { recursive: true, mode: 0o700 });
      await writeFile(join(folder, `.${name}.tmp`), item.raw);
    }
    await rename(join(folder, `.${name}.tmp`), join(folder, name));
  }

  async function drain(): Promise<number> {
    let sent = 0;
    for (let n = 0; n < DRAIN_LIMIT; n++) {
      const now = clock.now().getTime();
      const item = await repo.claimNext(sender, new Date(now).toISOString(), new Date(now + CLAIM_MS).toISOString());
      if (!item) break;
      try {
        await deliver(item);
        crashPoint('outbox.sent');
        await repo.markSent(item.id, clock.now().toISOString());
        if (item.articleId !== null) await repo.setDelivery(item.articleId, 'sent');
        sent++;
      } catch (error) {
        // A relay that refuses this message or its recipient for good (5xx to RCPT TO or DATA:
        // unknown mailbox, too large, rejected as spam) will refuse it again: given up at once.
        // Anything else — a 4xx, no connection, a 5xx to the login — is retried.
        const { responseCode, command } = error as { responseCode?: number; command?: string };
        const refused = typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && /^(RCPT|DATA)/i.test(String(command ?? ''));
        const giveUp = refused || item.attempts + 1 >= maxAttempts;
        await repo.markRetry(item.id, new Date(clock.now().getTime() + retryDelayMs(item.attempts)).toISOString(), (error as Error).message, giveUp);
        if (giveUp && item.articleId !== null) await repo.setDelivery(item.articleId, 'failed');
        log.warn({ err: (error as Error).message, outbox: item.id, attempts: item.attempts + 1, giveUp }, 'sending mail failed');
      }
    }
    return sent;
  }

  /**
   * Sends everything due now; concurrent calls share one run (and trigger one more after it).
   * Never rejects: a run that fails (the database went away) is logged and retried by the timer,
   * and after `stop()` nothing runs again — an unhandled rejection would stop the whole service.
   */
  function flush(): Promise<number> {
    if (stopped || (options.mayRun && !options.mayRun())) return Promise.resolve(0);
    if (running) {
      again = true;
      return running;
    }
    running = drain()
      .catch((error: unknown) => {
        log.error({ err: error }, 'outbox run failed; it is tried again later');
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          void flush();
        }
      });
    return running;
  }

  return {
    flush,
    start(): void {
      timer = setInterval(() => void flush(), options.intervalMs ?? 5000);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running;
      transport?.close();
    },
    folder,
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
