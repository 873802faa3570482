import AsteriskManager from 'asterisk-manager';
import { ValidationError } from '../core/errors.js';
import { CONTROL } from './names.js';
import type { Manager } from 'asterisk-manager';
import type { Logger } from '../logger.js';
import type { ConnectionState } from './ari.js';
import { backoffDelay, PbxUnavailableError, withTimeout } from './with-timeout.js';

/** An AMI event or response; asterisk-manager lower-cases every key (`uniqueid`, `destchannel`…). */
export type AmiMessage = Record<string, string>;

/** An action Asterisk refused (`Response: Error`), with its message. */
export class AmiActionError extends Error {
  override name = 'AmiActionError';
}

export interface AmiOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  log: Logger;
  actionTimeoutMs?: number;
  maxBackoffMs?: number;
  /** A `Ping` goes out this often; a connection silent for three times as long is taken for dead. */
  keepAliveMs?: number;
  onEvent(event: AmiMessage): void;
  /** After every (re)connection and login: time to load device states and queue members. */
  onConnected(): void;
  /**
   * Starts every ActionID (default `hotline`). Asterisk sends each response to the connection that
   * asked, but events such as OriginateResponse carry the ActionID to every connection: with several
   * instances on one Asterisk, each needs its own (the service uses `hotline-<instanceId>`).
   */
  actionIdPrefix?: string;
}

export interface AmiConnection {
  state(): ConnectionState;
  /** Sends an action; resolves with the response, rejects on `Response: Error`, timeout, or when disconnected. */
  action(fields: Record<string, string | number | boolean>): Promise<AmiMessage>;
  /** An action answered by an event list (`EventList: start` … `completeEvent`). */
  listAction(fields: Record<string, string | number | boolean>, completeEvent: string): Promise<AmiMessage[]>;
  close(): Promise<void>;
}

/**
 * An event as the handlers may rely on it: every field a string. A header Asterisk (or anything
 * else on the socket) sent twice arrives from asterisk-manager as an array; the first value counts.
 * `variable` / `chanvariable` objects are left out (Hotline reads none). Null without an event name.
 */
export function amiMessage(raw: unknown): AmiMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const out: AmiMessage = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[key] = first;
    else if (typeof first === 'number') out[key] = String(first);
  }
  return typeof out.event === 'string' && out.event.length > 0 ? out : null;
}

/** Connects to AMI in the background, logs in, and reconnects forever with capped backoff. */
export function connectAmi(options: AmiOptions): AmiConnection {
  const { log } = options;
  const timeoutMs = options.actionTimeoutMs ?? 5000;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let manager: Manager | null = null;
  let state: ConnectionState = 'connecting';
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let nextId = 0;
  const keepAliveMs = options.keepAliveMs ?? 10_000;
  let keepAlive: NodeJS.Timeout | undefined;
  // When the current connection last delivered anything (an event or a response).
  let lastHeard = 0;
  // Actions in flight, failed at once when the connection drops (asterisk-manager would keep them forever).
  const pending = new Map<string, (error: Error) => void>();

  const setState = (next: ConnectionState) => {
    if (next !== state) log.info({ ami: next }, `AMI ${next}`);
    state = next;
  };

  function dropConnection(m: Manager): void {
    if (manager !== m) return;
    manager = null;
    clearInterval(keepAlive);
    m.removeAllListeners();
    m.on('error', () => {});
    try {
      m.disconnect();
    } catch {
      // already gone
    }
    for (const fail of pending.values()) fail(new PbxUnavailableError('AMI connection lost'));
    pending.clear();
    if (closed) return;
    setState('reconnecting');
    retryTimer = setTimeout(connect, backoffDelay(attempt++, maxBackoff));
  }

  function connect(): void {
    if (closed) return;
    // A fresh Manager per connection: no state (held actions, listeners) survives from the last one.
    const m = AsteriskManager(null, options.host, options.user, options.secret, true);
    manager = m;
    m.on('error', (error: unknown) => log.debug({ err: (error as Error)?.message }, 'AMI socket error'));
    m.on('close', () => dropConnection(m));
    // Frames asterisk-manager could not read (our patch reports them instead of throwing or stalling).
    m.on('parseerror', (error: Error) => log.warn({ err: error.message }, 'AMI frame dropped: not what Asterisk sends'));
    const heard = () => (lastHeard = Date.now());
    m.on('response', heard);
    m.on('asterisk', heard);
    m.on('managerevent', (raw: unknown) => {
      heard();
      const event = amiMessage(raw);
      if (!event) {
        log.warn({ sample: JSON.stringify(raw)?.slice(0, 200) }, 'AMI event dropped: no event name');
        return;
      }
      try {
        options.onEvent(event);
      } catch (error) {
        log.error({ err: error, event: event.event }, 'AMI event handler failed');
      }
    });
    m.connect(options.port, options.host, () => {
      // The socket may already be gone again (a port that accepts and closes); asterisk-manager's
      // login would then print "There is no connection yet" to the console.
      if (manager !== m || !m.isConnected()) return;
      m.login((error) => {
        if (manager !== m) return;
        if (error) {
          log.error({ user: options.user, message: (error as AmiMessage).message }, 'AMI login refused; check amiUser / amiSecret');
          dropConnection(m);
          return;
        }
        attempt = 0;
        setState('connected');
        heard();
        // Asterisk that stops answering (hung, or a link that silently died) looks connected for
        // ever: ask every keepAliveMs, and start over when nothing came for three rounds.
        clearInterval(keepAlive);
        keepAlive = setInterval(() => {
          if (Date.now() - lastHeard > keepAliveMs * 3) {
            log.warn({ silentMs: Date.now() - lastHeard }, 'AMI silent: reconnecting');
            dropConnection(m);
            return;
          }
          send({ action: 'Ping' }).catch(() => {});
        }, keepAliveMs);
        keepAlive.unref();
        // asterisk-manager logs in with `Event: on`, which Asterisk ignores (it reads `Events`): ask explicitly.
        send({ action: 'Events', eventmask: 'on' }).catch(() => {});
        try {
          options.onConnected();
        } catch (err) {
          log.error({ err }, 'AMI start-up queries failed');
        }
      });
    });
  }

  function send(fields: Record<string, string | number | boolean>): Promise<AmiMessage> {
    // asterisk-manager writes `key: value` lines as given: a CR or LF in a value would end this
    // action and start another (with a `command`-privileged user, an Asterisk command).
    for (const [key, value] of Object.entries(fields)) {
      if ((typeof value === 'string' && CONTROL.test(value)) || CONTROL.test(key)) return Promise.reject(new ValidationError(`AMI ${String(fields.action)}: ${key} must not contain control characters or line breaks`));
    }
    const m = manager;
    if (!m || state !== 'connected' || !m.isConnected()) {
      return Promise.reject(new PbxUnavailableError(`AMI ${String(fields.action)}: AMI is ${state}`));
    }
    const actionid = typeof fields.actionid === 'string' ? fields.actionid : `${options.actionIdPrefix ?? 'hotline'}-${++nextId}`;
    const answered = new Promise<AmiMessage>((resolve, reject) => {
      pending.set(actionid, reject);
      m.action({ ...fields, actionid }, (error, response) => {
        pending.delete(actionid);
        if (error) reject(new AmiActionError(`AMI ${String(fields.action)} refused: ${(error as AmiMessage).message ?? 'error'}`));
        else resolve(response);
      });
    });
    return withTimeout(answered, timeoutMs, `AMI ${String(fields.action)}`).finally(() => {
      pending.delete(actionid);
      m.removeAllListeners(actionid);
    });
  }

  connect();

  return {
    state: () => state,
    action: send,
    async listAction(fields, completeEvent) {
      const m = manager;
      if (!m) throw new PbxUnavailableError(`AMI ${String(fields.action)}: AMI is ${state}`);
      const events: AmiMessage[] = [];
      let done!: () => void;
      const complete = new Promise<void>((resolve) => (done = resolve));
      let ownId: string | undefined;
      const collect = (event: AmiMessage) => {
        if (!ownId || event.actionid !== ownId) return;
        if (event.event?.toLowerCase() === completeEvent.toLowerCase()) done();
        else events.push(event);
      };
      m.on('managerevent', collect);
      try {
        const id = `${options.actionIdPrefix ?? 'hotline'}-list-${++nextId}`;
        ownId = id;
        await send({ ...fields, actionid: id });
        await withTimeout(complete, timeoutMs, `AMI ${String(fields.action)} list`);
        return events;
      } finally {
        m.removeListener('managerevent', collect);
      }
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(keepAlive);
      const m = manager;
      if (m) {
        try {
          await withTimeout(send({ action: 'Logoff' }), 1000, 'AMI logoff');
        } catch {
          // logging off is a courtesy
        }
        dropConnection(m);
      }
      setState('disconnected');
    },
  };
}
