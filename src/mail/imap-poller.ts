import { ImapFlow } from 'imapflow';
import type { Logger } from '../logger.js';
import type { Envelope } from './pipeline.js';

export interface ImapPollerOptions {
  /** `imap://user:password@host:143/INBOX` or `imaps://…:993/INBOX`. */
  url: string;
  intervalMs: number;
  /** Move stored messages here; empty: mark them \Seen and leave them. */
  doneMailbox: string;
  log: Logger;
  store(raw: Buffer, envelope: Envelope): Promise<{ id: number; duplicate: boolean }>;
  onStored(id: number, duplicate: boolean): void;
  /** False while another instance polls the mailbox (it holds the lease): this one waits its turn. */
  mayPoll?: () => boolean;
}

/** Parses the mailbox URL into imapflow's options. */
export function imapTarget(url: string): { host: string; port: number; secure: boolean; user: string; pass: string; mailbox: string } {
  const u = new URL(url);
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new Error(`imapUrl must start with imap:// or imaps://, got ${u.protocol}`);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname,
    port: Number(u.port) || (secure ? 993 : 143),
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox: decodeURIComponent(u.pathname.slice(1)) || 'INBOX',
  };
}

/**
 * Polls an IMAP mailbox (imapflow): each unseen message is stored first, and only then
 * flagged \Seen (or moved), so a crash in between means it is fetched again, never lost.
 */
export function startImapPoller(options: ImapPollerOptions) {
  const target = imapTarget(options.url);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let state: 'idle' | 'polling' | 'error' | 'standby' = 'idle';
  let lastError = '';

  async function pollOnce(): Promise<number> {
    const client = new ImapFlow({ host: target.host, port: target.port, secure: target.secure, auth: { user: target.user, pass: target.pass }, logger: false, tls: { rejectUnauthorized: !/^(127\.|localhost$)/.test(target.host) } });
    client.on('error', (error: Error) => options.log.warn({ err: error.message }, 'IMAP error'));
    let stored = 0;
    await client.connect();
    try {
      const lock = await client.getMailboxLock(target.mailbox);
      try {
        const uids = (await client.search({ seen: false }, { uid: true })) || [];
        for (const uid of uids) {
          const message = await client.fetchOne(String(uid), { source: true, envelope: true }, { uid: true });
          if (!message || !message.source) continue;
          const envelope: Envelope = { source: 'imap', from: message.envelope?.from?.[0]?.address ?? null, to: (message.envelope?.to ?? []).map((a) => a.address ?? '').filter(Boolean) };
          const result = await options.store(message.source, envelope);
          // Only now, with the bytes stored, may the server forget it is new.
          if (options.doneMailbox) await client.messageMove(String(uid), options.doneMailbox, { uid: true });
          else await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
          options.onStored(result.id, result.duplicate);
          stored++;
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => undefined);
    }
    return stored;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (options.mayPoll && !options.mayPoll()) {
      state = 'standby';
      timer = setTimeout(() => void tick(), options.intervalMs);
      return;
    }
    state = 'polling';
    try {
      await pollOnce();
      state = 'idle';
      lastError = '';
    } catch (error) {
      state = 'error';
      lastError = (error as Error).message;
      options.log.warn({ err: lastError, host: target.host }, 'IMAP poll failed; will retry');
    }
    if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs);
  }

  void tick();
  return {
    pollOnce,
    status: () => (state === 'error' ? `error: ${lastError}` : state === 'standby' ? `polled by another instance (${target.user}@${target.host}/${target.mailbox})` : `${state} (${target.user}@${target.host}/${target.mailbox})`),
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
