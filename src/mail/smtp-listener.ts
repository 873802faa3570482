import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { createConnectionLimit } from '../connection-limit.js';
import type { Logger } from '../logger.js';
import type { Envelope } from './pipeline.js';

export interface SmtpListenerOptions {
  host: string;
  port: number;
  /** Largest message accepted, in bytes (announced with SIZE; larger ones get 552). */
  maxBytes: number;
  /** Domains mail is accepted for; empty: any (the listener is on loopback by default). */
  domains: string[];
  /** Connections one address may hold open at once; more get 421. */
  maxConnectionsPerAddress?: number;
  /** Connections from all senders together; more get 421 (see fd-budget.ts). */
  maxClients?: number;
  /** A connection idle this long is closed (a sender that stalls mid-message included). */
  idleTimeoutMs?: number;
  log: Logger;
  /** Stores the raw message durably; rejects when it cannot (the sender gets 451 and retries). */
  store(raw: Buffer, envelope: Envelope): Promise<{ id: number; duplicate: boolean }>;
  /** Called after a message was stored and acknowledged. */
  onStored(id: number, duplicate: boolean): void;
}

/** An error with an SMTP reply code, as smtp-server expects. */
function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * The SMTP listener (smtp-server): answers 250 only after the raw message is stored,
 * 451 when it cannot be (the sender retries), 5xx only for policy (too large, domain not ours).
 */
export async function startSmtpListener(options: SmtpListenerOptions) {
  const connections = createConnectionLimit(options.maxConnectionsPerAddress ?? 20);
  const server = new SMTPServer({
    banner: 'Hotline',
    size: options.maxBytes,
    maxClients: options.maxClients ?? Infinity,
    // Slow senders: a connection silent for this long is closed; the whole of it is bounded too.
    socketTimeout: options.idleTimeoutMs ?? 60_000,
    closeTimeout: 10_000,
    onConnect(session, callback) {
      if (!connections.admit(session.remoteAddress)) return callback(smtpError(`4.7.0 too many connections from ${session.remoteAddress}; try again later`, 421));
      (session as SMTPServerSession & { counted?: boolean }).counted = true;
      callback();
    },
    onClose(session) {
      if ((session as SMTPServerSession & { counted?: boolean }).counted) connections.release(session.remoteAddress);
    },
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const domain = address.address.split('@')[1]?.toLowerCase() ?? '';
      if (options.domains.length && !options.domains.includes(domain)) return callback(smtpError(`5.1.2 no mailbox here for ${address.address}`, 550));
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      // Past the limit nothing more is kept: the rest is read (the protocol wants it) and dropped.
      stream.on('data', (chunk: Buffer) => {
        if (tooLarge) return;
        size += chunk.length;
        if (size > options.maxBytes) {
          tooLarge = true;
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (tooLarge || stream.sizeExceeded) return callback(smtpError(`5.3.4 message larger than ${options.maxBytes} bytes`, 552));
        const envelope: Envelope = {
          source: 'smtp',
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        // A store that throws before its promise counts as one that failed.
        Promise.resolve()
          .then(() => options.store(Buffer.concat(chunks), envelope))
          .then(
            (stored) => {
              callback(null, `2.0.0 stored as ${stored.id}`);
              options.onStored(stored.id, stored.duplicate);
            },
            (error: Error) => {
              options.log.error({ err: error.message }, 'could not store an incoming message; the sender was told to retry');
              callback(smtpError('4.3.0 cannot store the message right now, please try again later', 451));
            },
          );
      });
    },
  });
  server.on('error', (error) => options.log.warn({ err: error.message }, 'SMTP listener error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpListener = Awaited<ReturnType<typeof startSmtpListener>>;
