import ari from 'ari-client';
import type { AriClient } from 'ari-client';
import type { Logger } from '../logger.js';
import { backoffDelay, PbxUnavailableError, withTimeout } from './with-timeout.js';

/** An ARI event as Asterisk sends it (JSON from the websocket). */
export interface AriEvent {
  type: string;
  application?: string;
  channel?: AriChannel;
  playback?: { id: string; media_uri: string; target_uri: string; state: string };
  digit?: string;
  [key: string]: unknown;
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller: { name: string; number: string };
  language?: string;
  dialplan?: { context: string; exten: string; priority: number };
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface AriOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  log: Logger;
  /** Deadline for every REST call (ari-client's never settle while Asterisk is down). */
  requestTimeoutMs?: number;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs?: number;
  onEvent(event: AriEvent): void;
  /** Called after every (re)connection, once the app is registered: time to recover channels. */
  onConnected(): void;
}

/** ARI for the service: reconnects forever, times out every request, survives events it has no model for. */
export interface AriConnection {
  state(): ConnectionState;
  answer(channelId: string): Promise<void>;
  play(channelId: string, media: string, playbackId: string, language?: string): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  setVariable(channelId: string, variable: string, value: string): Promise<void>;
  continueInDialplan(channelId: string, context: string, extension: string, priority?: number): Promise<void>;
  hangup(channelId: string): Promise<void>;
  /** Ids of the channels Asterisk holds in the app right now. */
  appChannelIds(): Promise<string[]>;
  close(): Promise<void>;
}

/** The events the IVR acts on; Asterisk sends many more. */
const EVENTS = new Set(['StasisStart', 'StasisEnd', 'ChannelDtmfReceived', 'PlaybackFinished', 'ChannelHangupRequest', 'ChannelDestroyed']);

/** Connects to ARI in the background; use `state()` to see whether calls can be made. */
export function connectAri(options: AriOptions): AriConnection {
  const { log, app } = options;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let client: AriClient | null = null;
  let state: ConnectionState = 'connecting';
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const setState = (next: ConnectionState) => {
    if (next !== state) log.info({ ari: next }, `ARI ${next}`);
    state = next;
  };

  /**
   * Events are read straight from ari-client's websocket. Its own handler turns every event
   * into resource objects with each REST operation attached (a third of the IVR's CPU under
   * load, for objects nobody uses), and throws inside the websocket handler for a type it has
   * no model for (an Asterisk newer than its swagger). Only the types the IVR needs are passed on.
   */
  function readEvents(c: AriClient): void {
    const ws = c._ws;
    if (!ws) return;
    ws.removeAllListeners('message');
    ws.on('message', (data: unknown) => {
      let event: AriEvent;
      try {
        event = JSON.parse(String(data)) as AriEvent;
      } catch (error) {
        log.warn({ err: error }, 'ARI event could not be read');
        return;
      }
      if (!EVENTS.has(event.type)) {
        log.debug({ type: event.type }, 'ARI event not used');
        return;
      }
      try {
        options.onEvent(event);
      } catch (error) {
        log.error({ err: error, type: event.type }, 'ARI event handler failed');
      }
    });
  }

  function scheduleConnect(): void {
    if (closed) return;
    const delay = backoffDelay(attempt++, maxBackoff);
    retryTimer = setTimeout(() => void connect(), delay);
  }

  async function connect(): Promise<void> {
    if (closed) return;
    setState(attempt === 0 ? 'connecting' : 'reconnecting');
    let c: AriClient;
    // swagger-client (inside ari-client) console.logs a deprecation notice on every connect: keep stdout clean.
    const print = console.log;
    console.log = (...args: unknown[]) => {
      if (!String(args[0]).includes('deprecated version of Swagger')) print(...args);
    };
    try {
      c = await withTimeout(ari.connect(options.url, options.user, options.password), timeoutMs * 2, 'ARI connect');
    } catch (error) {
      log.warn({ err: (error as Error).message, url: options.url }, 'ARI not reachable; retrying');
      scheduleConnect();
      return;
    } finally {
      console.log = print;
    }
    if (closed) return;
    c.on('error', (error: unknown) => log.warn({ err: error }, 'ARI client error'));
    c.on('WebSocketConnected', () => {
      readEvents(c);
      attempt = 0;
      setState('connected');
      try {
        options.onConnected();
      } catch (error) {
        log.error({ err: error }, 'ARI recovery failed');
      }
    });
    c.on('WebSocketReconnecting', () => setState('reconnecting'));
    // ari-client gives up after ~10 tries and never tries again: start over with a new client.
    c.on('WebSocketMaxRetries', () => {
      if (client === c) client = null;
      setState('disconnected');
      scheduleConnect();
    });
    client = c;
    try {
      await withTimeout(c.start(app), timeoutMs * 2, 'ARI websocket');
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'ARI websocket failed; retrying');
      try {
        c.stop();
      } catch {
        // the websocket may not exist yet
      }
      if (client === c) client = null;
      setState('disconnected');
      scheduleConnect();
    }
  }

  function rest<T>(what: string, call: (c: AriClient) => PromiseLike<T>): Promise<T> {
    const c = client;
    if (!c || state !== 'connected') return Promise.reject(new PbxUnavailableError(`${what}: ARI is ${state}`));
    return withTimeout(call(c), timeoutMs, what);
  }

  void connect();

  return {
    state: () => state,
    answer: (channelId) => rest('answer', (c) => c.channels.answer!({ channelId })).then(() => undefined),
    play: (channelId, media, playbackId, language) =>
      rest('play', (c) => c.channels.play!({ channelId, media, playbackId, ...(language ? { lang: language } : {}) })).then(() => undefined),
    stopPlayback: (playbackId) => rest('stop playback', (c) => c.playbacks.stop!({ playbackId })).then(() => undefined),
    setVariable: (channelId, variable, value) => rest('set variable', (c) => c.channels.setChannelVar!({ channelId, variable, value })).then(() => undefined),
    continueInDialplan: (channelId, context, extension, priority = 1) =>
      rest('continue', (c) => c.channels.continueInDialplan!({ channelId, context, extension, priority })).then(() => undefined),
    hangup: (channelId) => rest('hangup', (c) => c.channels.hangup!({ channelId })).then(() => undefined),
    appChannelIds: () => rest('application', (c) => c.applications.get!({ applicationName: app })).then((a) => (a as { channel_ids?: string[] }).channel_ids ?? []),
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const c = client;
      client = null;
      setState('disconnected');
      if (c) {
        try {
          c.stop();
        } catch {
          // already closed
        }
      }
    },
  };
}
