import http from 'node:http';
import { ValidationError } from '../core/errors.js';
import { CONTROL } from './names.js';
import https from 'node:https';
import ari from 'ari-client';
import type { AriClient } from 'ari-client';
import type { Logger } from '../logger.js';
import { readAriEvent } from './ari-events.js';
import { backoffDelay, PbxTimeoutError, PbxUnavailableError, withTimeout } from './with-timeout.js';

/** An ARI event as Asterisk sends it (JSON from the websocket). */
export interface AriEvent {
  type: string;
  application?: string;
  channel?: AriChannel;
  playback?: { id: string; media_uri: string; target_uri: string; state: string };
  recording?: { name: string; target_uri: string; state: string; duration?: number; cause?: string };
  args?: string[];
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

/** `replaced`: another websocket took the Stasis app over (two instances with one `ariApp`). */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'replaced';

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
  /** A call broadcast by StasisBroadcast() that this instance may claim (`claim`). */
  onBroadcast?(channelId: string): void;
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
  /** Ids of every channel Asterisk has right now. */
  channelIds(): Promise<string[]>;
  /**
   * Records what the caller says (live recording, WAV) under `name`; `RecordingFinished` follows when
   * the caller keys `terminateOn`, is silent for `maxSilenceSeconds`, reaches `maxDurationSeconds` or hangs up.
   */
  record(channelId: string, name: string, options: { maxDurationSeconds: number; maxSilenceSeconds: number; beep: boolean; terminateOn: string }): Promise<void>;
  stopRecording(name: string): Promise<void>;
  /** A finished recording's file, fetched over ARI; refused past `maxBytes`. */
  storedRecording(name: string, maxBytes: number): Promise<Buffer>;
  deleteStoredRecording(name: string): Promise<void>;
  /** Claims a broadcast call for this app: true when it is ours, false when another app was first (409). */
  claim(channelId: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * ARI's REST calls over plain HTTP with kept-alive connections, to the base ari-client uses
 * (`<protocol>//<host>/ari`). ari-client sends each request through swagger-client 2, which
 * rebuilds it from the API model every time: about a millisecond of CPU per request, and under
 * load the stalls that made up the IVR's slowest decisions (see bench/RESULTS.md). ari-client
 * still connects, loads the API and keeps the event websocket.
 */
function createAriRequester(url: string, user: string, password: string) {
  const base = new URL(url);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 64 });
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  // An IPv6 address comes bracketed in a URL ([::1]) and is dialled without the brackets.
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  /** `raw`: the answer's bytes (a recording), refused past `maxBytes`; otherwise its JSON. */
  const request = (what: string, method: string, path: string, query: Record<string, string | number | undefined>, timeoutMs: number, raw?: { maxBytes: number }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
      const search = params.size > 0 ? `?${params.toString()}` : '';
      const req = transport.request({ host, port: base.port, method, path: `/ari${path}${search}`, agent, headers: { authorization, accept: 'application/json' } });
      // Unlike ari-client's, a request to an Asterisk that went away does not hang: it is abandoned.
      const timer = setTimeout(() => req.destroy(new PbxTimeoutError(`${what}: no answer from Asterisk within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        // A refused or reset connection while the websocket is up is worth a retry; if Asterisk is
        // really gone the websocket closes too, and later requests fail fast as unavailable.
        reject(error instanceof PbxTimeoutError ? error : new Error(`${what}: ${error.message}`));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (raw && size > raw.maxBytes) {
            clearTimeout(timer);
            req.destroy();
            reject(new Error(`${what}: more than ${raw.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(new Error(`${what}: ${error.message}`));
        });
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          if (raw && status >= 200 && status < 300) {
            resolve(Buffer.concat(chunks));
            return;
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let body: { message?: string } | undefined;
          try {
            body = text ? (JSON.parse(text) as { message?: string }) : undefined;
          } catch {
            body = { message: text };
          }
          // Asterisk refused it (4xx/5xx): its reason, when it gave one.
          if (status >= 200 && status < 300) resolve(body);
          else reject(new Error(`${what}: Asterisk answered ${status}${body?.message ? ` (${body.message})` : ''}`));
        });
      });
      req.end();
    });
  return { request, close: () => agent.destroy() };
}

/** Connects to ARI in the background; use `state()` to see whether calls can be made. */
export function connectAri(options: AriOptions): AriConnection {
  const { log, app } = options;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let client: AriClient | null = null;
  let state: ConnectionState = 'connecting';
  let closed = false;
  // Settles an attempt still under way when the connection is closed, so that its deadline's
  // timer does not hold a stopping process for seconds.
  let abandon: (error: Error) => void = () => {};
  const abandoned = new Promise<never>((_resolve, reject) => (abandon = reject));
  abandoned.catch(() => {});
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
      const read = readAriEvent(data);
      if ('ignored' in read) return;
      if ('invalid' in read) {
        log.warn({ reason: read.invalid, sample: String(data).slice(0, 200) }, 'ARI event dropped: not what Asterisk sends');
        return;
      }
      if (read.event.type === 'ApplicationReplaced') {
        // Taking the app back would only start a tug of war with the other connection: stay out,
        // and say so on /healthz, until this instance is given an app of its own and restarted.
        log.error({ app }, `another connection took over the Stasis app "${app}": is a second Hotline running with the same ariApp? Calls go to it (or to the dialplan's fallback); give each instance its own ariApp`);
        setState('replaced');
        return;
      }
      if (read.event.type === 'CallBroadcast') {
        if (state === 'connected' && read.event.channel) options.onBroadcast?.(read.event.channel.id);
        return;
      }
      try {
        options.onEvent(read.event);
      } catch (error) {
        log.error({ err: error, type: read.event.type }, 'ARI event handler failed');
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
      c = await withTimeout(Promise.race([ari.connect(options.url, options.user, options.password), abandoned]), timeoutMs * 2, 'ARI connect');
    } catch (error) {
      if (closed) return;
      log.warn({ err: (error as Error).message, url: options.url }, 'ARI not reachable; retrying');
      scheduleConnect();
      return;
    } finally {
      console.log = print;
    }
    if (closed) return;
    c.on('error', (error: unknown) => log.warn({ err: error }, 'ARI client error'));
    c.on('WebSocketConnected', () => {
      if (state === 'replaced') return;
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
      await withTimeout(Promise.race([c.start(app), abandoned]), timeoutMs * 2, 'ARI websocket');
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

  const requester = createAriRequester(options.url, options.user, options.password);

  /** One ARI REST request, while connected; fails at once otherwise, and after `timeoutMs` at the latest. */
  function rest(what: string, method: 'GET' | 'POST' | 'DELETE', path: string, query: Record<string, string | number | undefined> = {}, raw?: { maxBytes: number; timeoutMs: number }): Promise<unknown> {
    if (!client || state !== 'connected') return Promise.reject(new PbxUnavailableError(`${what}: ARI is ${state}`));
    // Values go into the URL: encoded, a line break would still reach Asterisk's variables and dialplan.
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'string' && CONTROL.test(value)) return Promise.reject(new ValidationError(`ARI ${what}: ${key} must not contain control characters or line breaks`));
    }
    if (CONTROL.test(decodeURIComponent(path))) return Promise.reject(new ValidationError(`ARI ${what}: the path must not contain control characters`));
    return requester.request(what, method, path, query, raw?.timeoutMs ?? timeoutMs, raw);
  }

  const id = encodeURIComponent;
  void connect();

  return {
    state: () => state,
    answer: (channelId) => rest('answer', 'POST', `/channels/${id(channelId)}/answer`).then(() => undefined),
    play: (channelId, media, playbackId, language) => rest('play', 'POST', `/channels/${id(channelId)}/play`, { media, playbackId, lang: language }).then(() => undefined),
    stopPlayback: (playbackId) => rest('stop playback', 'DELETE', `/playbacks/${id(playbackId)}`).then(() => undefined),
    setVariable: (channelId, variable, value) => rest('set variable', 'POST', `/channels/${id(channelId)}/variable`, { variable, value }).then(() => undefined),
    continueInDialplan: (channelId, context, extension, priority = 1) =>
      rest('continue', 'POST', `/channels/${id(channelId)}/continue`, { context, extension, priority }).then(() => undefined),
    hangup: (channelId) => rest('hangup', 'DELETE', `/channels/${id(channelId)}`).then(() => undefined),
    appChannelIds: () => rest('application', 'GET', `/applications/${id(app)}`).then((a) => (a as { channel_ids?: string[] }).channel_ids ?? []),
    channelIds: () =>
      rest('channels', 'GET', '/channels').then((list) => {
        if (!Array.isArray(list)) throw new Error('channels: Asterisk answered something other than a list');
        return list.map((c) => (c as { id?: unknown }).id).filter((x): x is string => typeof x === 'string');
      }),
    record: (channelId, name, options) =>
      rest('record', 'POST', `/channels/${id(channelId)}/record`, {
        name,
        format: 'wav',
        maxDurationSeconds: options.maxDurationSeconds,
        maxSilenceSeconds: options.maxSilenceSeconds,
        beep: options.beep ? 'true' : 'false',
        terminateOn: options.terminateOn,
        ifExists: 'overwrite',
      }).then(() => undefined),
    stopRecording: (name) => rest('stop recording', 'POST', `/recordings/live/${id(name)}/stop`).then(() => undefined),
    storedRecording: (name, maxBytes) =>
      // Over ARI, not from Asterisk's disk: Asterisk may run on another machine.
      rest('stored recording', 'GET', `/recordings/stored/${id(name)}/file`, {}, { maxBytes, timeoutMs: Math.max(timeoutMs, 30_000) }) as Promise<Buffer>,
    deleteStoredRecording: (name) => rest('delete recording', 'DELETE', `/recordings/stored/${id(name)}`).then(() => undefined),
    claim: (channelId) =>
      rest('claim', 'POST', '/events/claim', { channelId, application: app }).then(
        () => true,
        (error: Error) => {
          // 409: another instance was first; 404: the call is gone or no longer offered.
          if (/answered (409|404)/.test(error.message)) return false;
          throw error;
        },
      ),
    async close() {
      closed = true;
      abandon(new PbxUnavailableError('ARI connection closed'));
      clearTimeout(retryTimer);
      requester.close();
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
