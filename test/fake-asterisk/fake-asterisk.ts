import { EventEmitter } from 'node:events';
import { pcmWav } from '../helpers/wav.js';
import { ABSOLUTE_TIMEOUT, FALLBACK_CONTEXT, STASIS_GUARD_SECONDS } from '../../src/pbx/names.js';
import { ariApiDocs } from './ari-description.js';
import type { AmiFields } from './ami-server.js';
import { createAmiServer } from './ami-server.js';
import type { AriReply, AriRequest } from './ari-server.js';
import { createAriServer } from './ari-server.js';

/** How a scripted phone behaves when dialled. */
export type PhoneBehaviour = 'answer' | 'busy' | 'noanswer' | 'unavailable';

export interface QueueMemberDef {
  /** Member interface as in queues.conf, e.g. `Local/203@phones/n`. */
  iface: string;
  name: string;
  stateInterface?: string;
}

export interface FakeAsteriskOptions {
  /** The swagger files served at `/ari/api-docs/` (default: the project's own, ari-description.ts). */
  apiDocs?: Map<string, string>;
  ariUser?: string;
  ariPassword?: string;
  amiUser?: string;
  amiSecret?: string;
  /** queues.conf: queue name → members (strategy ringall). */
  queues?: Record<string, QueueMemberDef[]>;
  /**
   * queues.conf `ringinuse` per queue. Asterisk's default is yes: app_queue rings a member whose
   * device is INUSE; dialplan/README.md tells sites to set `ringinuse = no`.
   */
  ringInUse?: Record<string, boolean>;
  /** `HOTLINE_DEFAULT_QUEUE` of the dialplan. */
  defaultQueue?: string;
  /**
   * Phones by dial string (`PJSIP/201`, `Local/201@phones`); unknown phones are unavailable. Also
   * customers' numbers (`+4930123456`) for click-to-dial, where an unknown number answers.
   */
  phones?: Record<string, PhoneBehaviour>;
  /** Milliseconds for a prompt to play, a phone to ring before answering / refusing, and one dialplan second. */
  timing?: { playbackMs?: number; ringMs?: number; secondMs?: number };
  /** false: ARI answers every REST request with `Connection: close`, so each one needs a new socket (and a file descriptor). */
  ariKeepAlive?: boolean;
}

interface Channel {
  id: string;
  name: string;
  linkedid: string;
  caller: { name: string; number: string };
  language: string;
  state: 'Down' | 'Ring' | 'Up';
  context: string;
  exten: string;
  priority: number;
  vars: Map<string, string>;
  app: string | null;
  hungUp: boolean;
  log: string[];
  /** performance.now() of each log line. */
  logTimes: number[];
  played: string[];
  playbacks: Array<{ id: string; media: string; language: string; timer?: NodeJS.Timeout }>;
  answeredBy: string | null;
  queue: string | null;
  /** The queue member who answered, for AgentComplete at hang-up. */
  member: { queue: string; def: QueueMemberDef; dest: Leg } | null;
  timers: Set<NodeJS.Timeout>;
  /** The dialplan's `TIMEOUT(absolute)`: when it fires in Stasis, the channel leaves to the `T` extension. */
  guard: NodeJS.Timeout | undefined;
  /** A live recording (ARI `record`): its name, what ends it, and the caller's speech since it started. */
  recording: { name: string; terminateOn: string; startedAt: number; speech: Buffer[]; timer?: NodeJS.Timeout } | null;
}

/** A dialled leg (agent phone), only as far as AMI events need it. */
interface Leg {
  id: string;
  linkedid: string;
  name: string;
  state: 'Down' | 'Ring' | 'Up';
  caller: { name: string; number: string };
  language: string;
  context: string;
  exten: string;
  priority: number;
  base: string;
}

const STATE_CODES: Record<Channel['state'], number> = { Down: 0, Ring: 4, Up: 6 };

/**
 * Asterisk's argument split (ast_app_separate_args, as ARRAY uses it): commas separate, except
 * inside double quotes or brackets; quotes and backslash escapes are removed.
 */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) field += text[++i];
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '(' || c === '[' || c === '{')) (depth++, (field += c));
    else if (!quoted && (c === ')' || c === ']' || c === '}') && depth > 0) (depth--, (field += c));
    else if (c === ',' && !quoted && depth === 0) (out.push(field), (field = ''));
    else field += c;
  }
  out.push(field);
  return out;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** The part of a call a test drives and watches. */
export interface FakeCall {
  readonly id: string;
  /** What happened, in order: `stasis-start`, `dtmf 1`, `continue hotline-route,agent,1`, `dial PJSIP/201`, `answered PJSIP/201`, `queue billing`, … */
  readonly log: readonly string[];
  readonly vars: ReadonlyMap<string, string>;
  /** Media URIs the caller heard (started playing). */
  readonly played: readonly string[];
  readonly answeredBy: string | null;
  readonly hungUp: boolean;
  /** Keys digits on the touch-tone pad, `gapMs` apart. */
  press(digits: string, gapMs?: number): Promise<void>;
  /** Says something: 16-bit mono PCM samples at 8 kHz, which a live recording on the channel takes down. */
  speak(pcm: Buffer): void;
  hangup(): void;
  /** Resolves once a log line starts with `prefix`. */
  waitFor(prefix: string, timeoutMs?: number): Promise<string>;
  /** performance.now() when the last log line starting with `prefix` was written (for benchmarks). */
  timeOf(prefix: string): number | undefined;
  /** Milliseconds from the caller's last key in the IVR to the call leaving it (`continue`), or undefined. */
  handOffMs(): number | undefined;
}

/**
 * A fake Asterisk that speaks the real protocols over real sockets: AMI over
 * TCP and ARI over HTTP + websocket (the real swagger files). It emulates the
 * Hotline dialplan (`dialplan/extensions.conf`), scripted callers and phones,
 * and `STASISSTATUS=FAILED` when no app is registered.
 */
export function createFakeAsterisk(options: FakeAsteriskOptions = {}) {
  const timing = { playbackMs: 150, ringMs: 40, secondMs: 10, ...options.timing };
  const queues = options.queues ?? {};
  const defaultQueue = options.defaultQueue ?? 'support';
  const phones = new Map(Object.entries(options.phones ?? {}));
  /** Stored recordings by name (Asterisk's recording directory), as WAV files. */
  const recordings = new Map<string, Buffer>();
  const deviceStates = new Map<string, string>();
  const channels = new Map<string, Channel>();
  const everRegistered = new Set<string>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const ariEvents: Array<Record<string, unknown>> = [];
  let nextChannel = 0;
  let nextUnique = 0;
  let nextBridge = 0;
  const epoch = Math.floor(Date.now() / 1000);
  const uniqueid = () => `${epoch}.${nextUnique++}`;

  const ami = createAmiServer({ user: options.amiUser ?? 'hotline', secret: options.amiSecret ?? 'hotline', onAction: amiAction });
  const ari = createAriServer({
    apiDocs: options.apiDocs ?? ariApiDocs(),
    user: options.ariUser ?? 'hotline',
    password: options.ariPassword ?? 'hotline',
    keepAlive: options.ariKeepAlive,
    onRequest: ariRequest,
    onAppsChanged: () => {
      for (const app of ari.registeredApps()) everRegistered.add(app);
      changes.emit('apps');
    },
  });

  // ---- helpers --------------------------------------------------------------------------------

  function log(ch: Channel, line: string): void {
    ch.log.push(line);
    ch.logTimes.push(performance.now());
    changes.emit('log', ch, line);
  }

  function later(ch: Channel, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      ch.timers.delete(t);
      fn();
    }, ms);
    ch.timers.add(t);
  }

  const now = () => new Date().toISOString().replace('Z', '+0000');

  function channelJson(ch: Channel) {
    return {
      id: ch.id,
      name: ch.name,
      state: ch.state,
      protocol_id: '',
      caller: ch.caller,
      connected: ch.caller,
      accountcode: '',
      dialplan: { context: ch.context, exten: ch.exten, priority: ch.priority, app_name: ch.app ? 'Stasis' : '', app_data: ch.app ?? '' },
      creationtime: now(),
      language: ch.language,
    };
  }

  function emitAri(ch: Channel, event: Record<string, unknown>): void {
    if (!ch.app) return;
    const full = { ...event, timestamp: now() };
    ariEvents.push(full);
    ari.emit(ch.app, full);
  }

  /** The channel fields AMI puts in most call events, with an optional `Dest` prefix. */
  function block(ch: { name: string; state: Channel['state']; caller: { name: string; number: string }; language: string; context: string; exten: string; priority: number; id: string; linkedid: string }, prefix = ''): AmiFields {
    return [
      [`${prefix}Channel`, ch.name],
      [`${prefix}ChannelState`, STATE_CODES[ch.state]],
      [`${prefix}ChannelStateDesc`, ch.state],
      [`${prefix}CallerIDNum`, ch.caller.number],
      [`${prefix}CallerIDName`, ch.caller.name],
      [`${prefix}ConnectedLineNum`, ch.caller.number],
      [`${prefix}ConnectedLineName`, ch.caller.name],
      [`${prefix}Language`, ch.language],
      [`${prefix}AccountCode`, ''],
      [`${prefix}Context`, ch.context],
      [`${prefix}Exten`, ch.exten],
      [`${prefix}Priority`, ch.priority],
      [`${prefix}Uniqueid`, ch.id],
      [`${prefix}Linkedid`, ch.linkedid],
    ];
  }

  function amiEvent(name: string, privilege: string, ...parts: AmiFields[]): void {
    ami.broadcast([['Event', name], ['Privilege', privilege], ...parts.flat()]);
  }

  function leg(caller: Channel, target: string): Leg {
    const base = target.replace(/\/n$/, '');
    const n = String(nextChannel++).padStart(8, '0');
    const local = base.startsWith('Local/');
    return {
      id: uniqueid(),
      linkedid: caller.linkedid,
      name: `${base}-${n}${local ? ';1' : ''}`,
      state: 'Down',
      caller: caller.caller,
      language: caller.language,
      context: local ? base.split('@')[1] ?? 'phones' : 'from-internal',
      exten: local ? base.slice(6).split('@')[0] ?? 's' : 's',
      priority: 1,
      base,
    };
  }

  const behaviourOf = (target: string): PhoneBehaviour => phones.get(target.replace(/\/n$/, '')) ?? 'unavailable';

  // ---- the dialplan ---------------------------------------------------------------------------

  /**
   * `TIMEOUT(absolute)` in real seconds (it is the wall clock that rescues a caller, not a dialplan
   * step): firing while the channel is in Stasis takes it out of the app, dead or alive, to `T`.
   */
  function setGuard(ch: Channel, seconds: number): void {
    clearTimeout(ch.guard);
    ch.guard = undefined;
    if (!(seconds > 0)) return;
    ch.guard = setTimeout(() => {
      ch.guard = undefined;
      if (ch.hungUp || !ch.app) return;
      log(ch, 'absolute-timeout');
      emitAri(ch, { type: 'StasisEnd', channel: channelJson(ch) });
      ch.app = null;
      void fallback(ch);
    }, seconds * 1000);
  }

  function enterIvr(ch: Channel, app: string): void {
    ch.context = 'hotline-ivr';
    ch.exten = 's';
    // Set(TIMEOUT(absolute)=8), then Stasis(hotline).
    setGuard(ch, STASIS_GUARD_SECONDS);
    ch.priority = 3;
    if (!ari.registeredApps().has(app)) {
      ch.vars.set('STASISSTATUS', 'FAILED');
      log(ch, 'stasis-failed');
      void fallback(ch);
      return;
    }
    ch.app = app;
    log(ch, 'stasis-start');
    emitAri(ch, { type: 'StasisStart', args: [], channel: channelJson(ch) });
  }

  async function fallback(ch: Channel): Promise<void> {
    setGuard(ch, 0);
    ch.vars.set('HOTLINE_UNVERIFIED', '1');
    log(ch, `fallback ${defaultQueue}`);
    await runQueue(ch, defaultQueue);
  }

  async function runDialplan(ch: Channel, context: string, exten: string, label: 'start' | 'route' = 'start'): Promise<void> {
    ch.context = context;
    ch.exten = exten;
    ch.priority = 1;
    if (context === FALLBACK_CONTEXT) return fallback(ch);
    // Set(TIMEOUT(absolute)=0) first in both route extensions.
    if (context === 'hotline-route') setGuard(ch, 0);
    // ExecIf($["${HOTLINE_ANNOUNCE}" != ""]?Playback(${HOTLINE_ANNOUNCE})) at the top of both route extensions.
    const announce = ch.vars.get('HOTLINE_ANNOUNCE');
    if (context === 'hotline-route' && label === 'start' && announce) {
      log(ch, `playback ${announce}`);
      ch.played.push(`sound:${announce}`);
      await sleep(timing.playbackMs);
      if (ch.hungUp) return;
    }
    if (context === 'hotline-route' && exten === 'agent') {
      const timeout = Number(ch.vars.get('HOTLINE_RING_TIMEOUT') || 20);
      const status = await dial(ch, ch.vars.get('HOTLINE_TARGET') ?? '', timeout);
      if (status !== 'ANSWER' && !ch.hungUp) await runDialplan(ch, 'hotline-route', 'queue', 'route');
      return;
    }
    if (context === 'hotline-route' && exten === 'queue') {
      ch.priority = 2;
      const queue = ch.vars.get('HOTLINE_QUEUE');
      const target = ch.vars.get('HOTLINE_QUEUE_TARGET');
      // Queue(${HOTLINE_QUEUE},,,,${HOTLINE_QUEUE_TIMEOUT}); QUEUESTATUS=TIMEOUT → voicemail when HOTLINE_VOICEMAIL_APP is set.
      const timeout = Number(ch.vars.get('HOTLINE_QUEUE_TIMEOUT') || 0);
      const voicemail = !!ch.vars.get('HOTLINE_VOICEMAIL_APP');
      if (queue) {
        const status = await runQueue(ch, queue, timeout);
        if (status === 'TIMEOUT' && voicemail && !ch.hungUp) return runDialplan(ch, 'hotline-route', 'voicemail');
        if (status === 'UNKNOWN') await runQueue(ch, defaultQueue);
      } else if (target) {
        const status = await dial(ch, target, timeout || 60);
        if (status === 'NOANSWER' && voicemail && !ch.hungUp) return runDialplan(ch, 'hotline-route', 'voicemail');
        if (status !== 'ANSWER' && !ch.hungUp) await runQueue(ch, defaultQueue);
      } else await runQueue(ch, defaultQueue);
      return;
    }
    if (context === 'hotline-route' && exten === 'voicemail') {
      // Set(TIMEOUT(absolute)=8), Stasis(${HOTLINE_VOICEMAIL_APP},voicemail); failed → the default queue.
      setGuard(ch, STASIS_GUARD_SECONDS);
      const app = ch.vars.get('HOTLINE_VOICEMAIL_APP') ?? '';
      if (!app || !ari.registeredApps().has(app)) {
        ch.vars.set('STASISSTATUS', 'FAILED');
        log(ch, 'stasis-failed');
        return fallback(ch);
      }
      ch.app = app;
      log(ch, 'stasis-start voicemail');
      emitAri(ch, { type: 'StasisStart', args: ['voicemail'], channel: channelJson(ch) });
      return;
    }
    if (context === 'hotline-ivr') {
      // Back from Stasis without a route: the dialplan's fallback.
      if (!ch.vars.get('HOTLINE_ROUTE')) return fallback(ch);
      return runDialplan(ch, 'hotline-route', ch.vars.get('HOTLINE_ROUTE')!);
    }
    log(ch, `unknown-extension ${context},${exten}`);
    hangup(ch);
  }

  async function dial(ch: Channel, target: string, timeoutSeconds: number): Promise<string> {
    log(ch, `dial ${target}`);
    const behaviour = behaviourOf(target);
    if (!target || behaviour === 'unavailable') {
      log(ch, `dial-end ${target} CHANUNAVAIL`);
      return 'CHANUNAVAIL';
    }
    const dest = leg(ch, target);
    amiEvent('Newchannel', 'call,all', block(dest));
    amiEvent('DialBegin', 'call,all', block(ch), block(dest, 'Dest'), [['DialString', dest.base.replace(/^[^/]+\//, '')]]);
    await sleep(behaviour === 'noanswer' ? timeoutSeconds * timing.secondMs : timing.ringMs);
    let status: string = behaviour === 'answer' ? 'ANSWER' : behaviour === 'busy' ? 'BUSY' : 'NOANSWER';
    if (ch.hungUp) status = 'CANCEL';
    if (status === 'ANSWER') dest.state = 'Up';
    amiEvent('DialEnd', 'call,all', block(ch), block(dest, 'Dest'), [['DialStatus', status]]);
    log(ch, `dial-end ${target} ${status}`);
    if (status === 'ANSWER') connect(ch, dest, target);
    else amiEvent('Hangup', 'call,all', block(dest), [['Cause', 17], ['Cause-txt', 'User busy']]);
    return status;
  }

  function connect(ch: Channel, dest: Leg, who: string): void {
    ch.answeredBy = who;
    const bridge = `bridge-${nextBridge++}`;
    for (const c of [dest, ch]) {
      amiEvent('BridgeEnter', 'call,all', [['BridgeUniqueid', bridge], ['BridgeType', 'basic'], ['BridgeTechnology', 'simple_bridge'], ['BridgeCreator', '<unknown>'], ['BridgeName', '<unknown>'], ['BridgeNumChannels', c === ch ? 2 : 1], ['BridgeVideoSourceMode', 'none']], block(c));
    }
    log(ch, `answered ${who}`);
  }

  /**
   * Queue(): ringall over the members. QUEUESTATUS: UNKNOWN when the queue does not exist, TIMEOUT
   * when nobody answered within `timeoutSeconds` (0: no limit, the caller waits on).
   */
  async function runQueue(ch: Channel, name: string, timeoutSeconds = 0): Promise<'UNKNOWN' | 'TIMEOUT' | 'DONE'> {
    const members = queues[name];
    if (!members) {
      log(ch, `queue-unknown ${name}`);
      return 'UNKNOWN';
    }
    ch.queue = name;
    log(ch, `queue ${name}`);
    amiEvent('QueueCallerJoin', 'agent,all', block(ch), [['Queue', name], ['Position', 1], ['Count', 1]]);
    const ringInUse = options.ringInUse?.[name] ?? true;
    const ringing = members
      .filter((m) => behaviourOf(m.iface) !== 'unavailable' && (ringInUse || deviceStates.get(m.stateInterface ?? '') !== 'INUSE'))
      .map((m) => ({ member: m, dest: leg(ch, m.iface), behaviour: behaviourOf(m.iface) }));
    for (const r of ringing) {
      amiEvent('AgentCalled', 'agent,all', block(ch), block(r.dest, 'Dest'), [['Queue', name], ['Interface', r.member.iface], ['MemberName', r.member.name]]);
      amiEvent('DialBegin', 'call,all', block(ch), block(r.dest, 'Dest'), [['DialString', r.member.iface.replace(/^[^/]+\//, '')]]);
      log(ch, `agent-called ${r.member.iface}`);
    }
    await sleep(timing.ringMs);
    if (ch.hungUp) return 'DONE';
    const winner = ringing.find((r) => r.behaviour === 'answer');
    if (winner) {
      winner.dest.state = 'Up';
      amiEvent('DialEnd', 'call,all', block(ch), block(winner.dest, 'Dest'), [['DialStatus', 'ANSWER']]);
    }
    for (const r of ringing) {
      if (r === winner) continue;
      const status = r.behaviour === 'busy' ? 'BUSY' : winner ? 'CANCEL' : undefined;
      if (status) amiEvent('DialEnd', 'call,all', block(ch), block(r.dest, 'Dest'), [['DialStatus', status]]);
      // A real Asterisk reports a losing member's CANCEL twice (ringall).
      if (status === 'CANCEL') amiEvent('DialEnd', 'call,all', block(ch), block(r.dest, 'Dest'), [['DialStatus', status]]);
    }
    if (!winner) {
      log(ch, `queue-waiting ${name}`);
      if (!(timeoutSeconds > 0)) return 'DONE';
      await sleep(timeoutSeconds * timing.secondMs);
      if (ch.hungUp) return 'DONE';
      for (const r of ringing) if (r.behaviour !== 'busy') amiEvent('DialEnd', 'call,all', block(ch), block(r.dest, 'Dest'), [['DialStatus', 'CANCEL']]);
      amiEvent('QueueCallerLeave', 'agent,all', block(ch), [['Queue', name], ['Position', 1], ['Count', 0]]);
      ch.queue = null;
      log(ch, `queue-timeout ${name}`);
      return 'TIMEOUT';
    }
    ch.member = { queue: name, def: winner.member, dest: winner.dest };
    amiEvent('QueueCallerLeave', 'agent,all', block(ch), [['Queue', name], ['Position', 1], ['Count', 0]]);
    amiEvent('AgentConnect', 'agent,all', block(ch), block(winner.dest, 'Dest'), [['Queue', name], ['Interface', winner.member.iface], ['MemberName', winner.member.name], ['HoldTime', 0], ['RingTime', 0]]);
    connect(ch, winner.dest, winner.member.iface);
    return 'DONE';
  }

  /** Ends the channel's live recording: the caller's speech (silence where none) is stored as an 8 kHz WAV. */
  function finishRecording(ch: Channel, why: string): void {
    const r = ch.recording;
    if (!r) return;
    ch.recording = null;
    clearTimeout(r.timer);
    const pcm = r.speech.length ? Buffer.concat(r.speech) : Buffer.alloc(2 * Math.round(((Date.now() - r.startedAt) / 1000) * 8000));
    recordings.set(r.name, pcmWav(pcm, 8000)); // as Asterisk's `wav` format: 16-bit mono at 8 kHz
    log(ch, `recorded ${r.name} ${why}`);
    emitAri(ch, { type: 'RecordingFinished', recording: { name: r.name, format: 'wav', target_uri: `channel:${ch.id}`, state: 'done', duration: Math.round(pcm.length / 16000) } });
  }

  function hangup(ch: Channel): void {
    if (ch.hungUp) return;
    // Asterisk keeps what was said up to the hang-up, and reports the recording finished.
    if (ch.recording) finishRecording(ch, 'hangup');
    ch.hungUp = true;
    setGuard(ch, 0);
    for (const t of ch.timers) clearTimeout(t);
    ch.timers.clear();
    for (const p of ch.playbacks) clearTimeout(p.timer);
    ch.playbacks = [];
    changes.emit('drained', ch);
    if (ch.app) {
      emitAri(ch, { type: 'ChannelHangupRequest', cause: 16, channel: channelJson(ch) });
      emitAri(ch, { type: 'StasisEnd', channel: channelJson(ch) });
      emitAri(ch, { type: 'ChannelDestroyed', cause: 16, cause_txt: 'Normal Clearing', channel: channelJson(ch) });
      ch.app = null;
    }
    if (ch.member) {
      const { queue, def, dest } = ch.member;
      amiEvent('AgentComplete', 'agent,all', block(ch), block(dest, 'Dest'), [['Queue', queue], ['Interface', def.iface], ['MemberName', def.name], ['HoldTime', 0], ['TalkTime', 1], ['Reason', 'caller']]);
    }
    if (ch.queue && !ch.answeredBy) amiEvent('QueueCallerAbandon', 'agent,all', block(ch), [['Queue', ch.queue], ['Position', 1], ['OriginalPosition', 1], ['HoldTime', 0]]);
    amiEvent('Hangup', 'call,all', block(ch), [['Cause', 16], ['Cause-txt', 'Normal Clearing']]);
    log(ch, 'hangup');
    channels.delete(ch.id);
  }

  // ---- playbacks ------------------------------------------------------------------------------

  function startNextPlayback(ch: Channel): void {
    const p = ch.playbacks[0];
    if (!p || p.timer) return;
    const json = (state: string) => ({ id: p.id, media_uri: p.media, target_uri: `channel:${ch.id}`, language: p.language, state });
    ch.played.push(p.media);
    emitAri(ch, { type: 'PlaybackStarted', playback: json('playing') });
    p.timer = setTimeout(() => {
      ch.playbacks.shift();
      emitAri(ch, { type: 'PlaybackFinished', playback: json('done') });
      startNextPlayback(ch);
      if (ch.playbacks.length === 0) changes.emit('drained', ch);
    }, timing.playbackMs);
  }

  /** Resolves once no prompt plays on the channel (at once when none does). */
  function drained(ch: Channel): Promise<void> {
    if (ch.playbacks.length === 0 || ch.hungUp) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (c: Channel) => {
        if (c !== ch) return;
        changes.off('drained', done);
        resolve();
      };
      changes.on('drained', done);
    });
  }

  // ---- ARI ------------------------------------------------------------------------------------

  function ariRequest(req: AriRequest): AriReply {
    const { method, path, params } = req;
    const notFound = (what: string): AriReply => ({ status: 404, body: { message: `${what} not found` } });
    if (method === 'GET' && path === '/asterisk/info') {
      return { status: 200, body: { build: { os: 'Linux', machine: 'x86_64' }, system: { version: '22.10.1', entity_id: '02:fc:00:00:00:01' }, config: { name: '', default_language: 'en' }, status: {} } };
    }
    if (method === 'GET' && path === '/channels') return { status: 200, body: [...channels.values()].map(channelJson) };
    let m = /^\/applications\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      const app = decodeURIComponent(m[1]!);
      if (!everRegistered.has(app)) return notFound('Application');
      const ids = [...channels.values()].filter((c) => c.app === app).map((c) => c.id);
      return { status: 200, body: { name: app, channel_ids: ids, bridge_ids: [], endpoint_ids: [], device_names: [], events_allowed: [], events_disallowed: [] } };
    }
    m = /^\/recordings\/stored\/([^/]+)(\/file)?$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      const stored = recordings.get(name);
      if (!stored) return notFound('Recording');
      if (m[2] && method === 'GET') return { status: 200, raw: stored, contentType: 'audio/wav' };
      if (!m[2] && method === 'DELETE') {
        recordings.delete(name);
        return { status: 204 };
      }
      return { status: 405, body: { message: 'not implemented by the fake' } };
    }
    m = /^\/recordings\/live\/([^/]+)\/stop$/.exec(path);
    if (m && method === 'POST') {
      const ch = [...channels.values()].find((c) => c.recording?.name === decodeURIComponent(m![1]!));
      if (!ch) return notFound('Recording');
      finishRecording(ch, 'stopped');
      return { status: 204 };
    }
    m = /^\/playbacks\/([^/]+)$/.exec(path);
    if (m && method === 'DELETE') {
      const id = decodeURIComponent(m[1]!);
      for (const ch of channels.values()) {
        const i = ch.playbacks.findIndex((p) => p.id === id);
        if (i < 0) continue;
        const [p] = ch.playbacks.splice(i, 1);
        if (p!.timer) {
          clearTimeout(p!.timer);
          emitAri(ch, { type: 'PlaybackFinished', playback: { id, media_uri: p!.media, target_uri: `channel:${ch.id}`, language: p!.language, state: 'done' } });
          startNextPlayback(ch);
        }
        if (ch.playbacks.length === 0) changes.emit('drained', ch);
        return { status: 204 };
      }
      return notFound('Playback');
    }
    m = /^\/channels\/([^/]+)(?:\/(\w+))?(?:\/([^/]+))?$/.exec(path);
    if (!m) return { status: 404, body: { message: 'Not found' } };
    const ch = channels.get(decodeURIComponent(m[1]!));
    const op = m[2];
    if (!ch) return notFound('Channel');
    if (!op && method === 'GET') return { status: 200, body: channelJson(ch) };
    if (!op && method === 'DELETE') {
      hangup(ch);
      return { status: 204 };
    }
    if (!ch.app) return { status: 412, body: { message: 'Channel not in Stasis application' } };
    // Like Asterisk's, these run on the channel's thread: behind a prompt that is playing.
    if (ch.playbacks.length > 0 && ['POST answer', 'POST variable', 'GET variable', 'POST continue'].includes(`${method} ${op}`)) {
      return { after: drained(ch), run: () => (ch.app ? channelOp(ch, method, op, m![3], params) : { status: 412, body: { message: 'Channel not in Stasis application' } }) };
    }
    return channelOp(ch, method, op, m[3], params);
  }

  /** A REST operation on a channel in the app, carried out now. */
  function channelOp(ch: Channel, method: string, op: string | undefined, extra: string | undefined, params: Record<string, string>): { status: number; body?: unknown } {
    switch (`${method} ${op}`) {
      case 'POST answer':
        if (ch.state !== 'Up') {
          ch.state = 'Up';
          emitAri(ch, { type: 'ChannelStateChange', channel: channelJson(ch) });
        }
        return { status: 204 };
      case 'POST play': {
        if (!params.media) return { status: 400, body: { message: 'media is required' } };
        const id = extra ? decodeURIComponent(extra) : params.playbackId ?? `pb-${nextBridge++}`;
        const language = params.lang ?? ch.language;
        ch.playbacks.push({ id, media: params.media, language });
        startNextPlayback(ch);
        return { status: 201, body: { id, media_uri: params.media, target_uri: `channel:${ch.id}`, language, state: 'queued' } };
      }
      case 'POST variable': {
        if (!params.variable) return { status: 400, body: { message: 'Variable name is required' } };
        // A name ending in `)` is a dialplan function; Asterisk writes it (pbx_builtin_setvar_helper).
        // ARRAY(a,b,…) sets each variable to the matching comma-separated field of the value.
        const array = /^ARRAY\(([^()]*)\)$/.exec(params.variable);
        if (params.variable === ABSOLUTE_TIMEOUT) {
          setGuard(ch, Number(params.value ?? 0));
          return { status: 204 };
        }
        if (params.variable.endsWith(')') && !array) return { status: 400, body: { message: 'Unable to set variable' } };
        const names = array ? array[1]!.split(',').map((n) => n.trim()) : [params.variable];
        const values = array ? splitArgs(params.value ?? '') : [params.value ?? ''];
        names.forEach((name, i) => {
          ch.vars.set(name, values[i] ?? '');
          emitAri(ch, { variable: name, value: values[i] ?? '', type: 'ChannelVarset', channel: channelJson(ch) });
        });
        return { status: 204 };
      }
      case 'POST record': {
        if (!params.name || !params.format) return { status: 400, body: { message: 'name and format are required' } };
        if (ch.recording) return { status: 409, body: { message: 'Channel is already recording' } };
        const name = params.name;
        ch.recording = { name, terminateOn: params.terminateOn ?? 'none', startedAt: Date.now(), speech: [] };
        log(ch, `record ${name}`);
        if (params.beep === 'true') ch.played.push('sound:beep');
        const max = Number(params.maxDurationSeconds ?? 0);
        if (max > 0) ch.recording.timer = setTimeout(() => finishRecording(ch, 'max-duration'), max * timing.secondMs);
        setImmediate(() => emitAri(ch, { type: 'RecordingStarted', recording: { name, format: params.format, target_uri: `channel:${ch.id}`, state: 'recording' } }));
        return { status: 201, body: { name, format: params.format, target_uri: `channel:${ch.id}`, state: 'queued' } };
      }
      case 'GET variable': {
        if (params.variable === 'CALLERID(num)') return { status: 200, body: { value: ch.caller.number } };
        const value = ch.vars.get(params.variable ?? '');
        return value === undefined ? { status: 404, body: { message: 'Provided variable was not found' } } : { status: 200, body: { value } };
      }
      case 'POST continue': {
        const context = params.context ?? ch.context;
        const exten = params.extension ?? ch.exten;
        log(ch, `continue ${context},${exten},${params.priority ?? 1}`);
        for (const p of ch.playbacks) clearTimeout(p.timer);
        ch.playbacks = [];
        emitAri(ch, { type: 'StasisEnd', channel: channelJson(ch) });
        ch.app = null;
        setImmediate(() => void runDialplan(ch, context, exten));
        return { status: 204 };
      }
      default:
        return { status: 405, body: { message: `${method} ${op} not implemented by the fake` } };
    }
  }

  // ---- AMI ------------------------------------------------------------------------------------

  function amiAction(action: Map<string, string>, actionId: string | undefined) {
    const idField: AmiFields = actionId === undefined ? [] : [['ActionID', actionId]];
    switch ((action.get('action') ?? '').toLowerCase()) {
      case 'ping':
        return { response: [['Response', 'Success'], ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]] as AmiFields };
      case 'devicestatelist': {
        // A real Asterisk leaves Local/ devices out of the list.
        const events: AmiFields[] = [...deviceStates].filter(([device]) => !device.startsWith('Local/')).map(([device, state]) => [['Event', 'DeviceStateChange'], ...idField, ['Device', device], ['State', state]]);
        events.push([['Event', 'DeviceStateListComplete'], ...idField, ['EventList', 'Complete'], ['ListItems', events.length]]);
        return { response: [['Response', 'Success'], ['EventList', 'start'], ['Message', 'Device State Changes will follow']] as AmiFields, events };
      }
      case 'queuestatus': {
        const events: AmiFields[] = [];
        for (const [name, members] of Object.entries(queues)) {
          events.push([['Event', 'QueueParams'], ['Queue', name], ['Max', 0], ['Strategy', 'ringall'], ['Calls', 0], ['Holdtime', 0], ['TalkTime', 0], ['Completed', 0], ['Abandoned', 0], ['ServiceLevel', 0], ['ServicelevelPerf', '0.0'], ['ServicelevelPerf2', '0.0'], ['Weight', 0], ...idField]);
          for (const m of members) {
            events.push([['Event', 'QueueMember'], ['Queue', name], ['Name', m.name], ['Location', m.iface], ['StateInterface', m.stateInterface ?? m.iface], ['Membership', 'static'], ['Penalty', 0], ['CallsTaken', 0], ['LastCall', 0], ['LastPause', 0], ['LoginTime', epoch], ['InCall', 0], ['Status', 0], ['Paused', 0], ['PausedReason', ''], ['Wrapuptime', 0], ...idField]);
          }
        }
        events.push([['Event', 'QueueStatusComplete'], ...idField, ['EventList', 'Complete'], ['ListItems', events.length]]);
        return { response: [['Response', 'Success'], ['EventList', 'start'], ['Message', 'Queue status will follow']] as AmiFields, events };
      }
      case 'setvar': {
        const m = /^DEVICE_STATE\((.+)\)$/.exec(action.get('variable') ?? '');
        if (m) setDeviceState(m[1]!, action.get('value') ?? 'UNKNOWN');
        if (action.get('variable') === ABSOLUTE_TIMEOUT) {
          const ch = [...channels.values()].find((c) => c.name === action.get('channel'));
          if (!ch) return { response: [['Response', 'Error'], ['Message', 'No such channel']] as AmiFields };
          setGuard(ch, Number(action.get('value') ?? 0));
        }
        return { response: [['Response', 'Success'], ['Message', 'Variable Set']] as AmiFields };
      }
      case 'originate': {
        const channel = action.get('channel') ?? '';
        const exten = action.get('exten') ?? '';
        const behaviour = behaviourOf(channel);
        const reason = { answer: 4, busy: 5, noanswer: 3, unavailable: 0 }[behaviour];
        const id = action.get('channelid') || uniqueid();
        originated.push({ channel, context: action.get('context') ?? '', exten, behaviour });
        setTimeout(() => {
          ami.broadcast([['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ...idField, ['Response', behaviour === 'answer' ? 'Success' : 'Failure'], ['Channel', channel], ['Context', action.get('context') ?? ''], ['Exten', exten], ['Reason', reason], ['Uniqueid', behaviour === 'answer' ? id : '<null>'], ['CallerIDNum', '<unknown>'], ['CallerIDName', '<unknown>']]);
          if (behaviour === 'answer') dialCustomer(id, channel, exten);
        }, timing.ringMs);
        return { response: [['Response', 'Success'], ['Message', 'Originate successfully queued']] as AmiFields };
      }
      default:
        return { response: [['Response', 'Error'], ['Message', 'Invalid/unknown command']] as AmiFields };
    }
  }

  const originated: Array<{ channel: string; context: string; exten: string; behaviour: PhoneBehaviour }> = [];

  /** hotline-dial → the site's outbound context: the answered agent leg (`id`) dials the customer. */
  function dialCustomer(id: string, agentPhone: string, number: string): void {
    const agentLeg = { id, linkedid: id, name: `${agentPhone}-${String(nextChannel++).padStart(8, '0')}${agentPhone.startsWith('Local/') ? ';1' : ''}`, state: 'Up' as const, caller: { name: '', number }, language: 'en', context: 'hotline-dial', exten: number, priority: 1 };
    const customer = { ...agentLeg, id: uniqueid(), name: `Local/${number}@outbound-${String(nextChannel++).padStart(8, '0')};1`, state: 'Down' as Channel['state'], context: 'outbound' };
    const behaviour = phones.get(number) ?? 'answer';
    amiEvent('DialBegin', 'call,all', block(agentLeg), block(customer, 'Dest'), [['DialString', number]]);
    setTimeout(() => {
      const status = behaviour === 'answer' ? 'ANSWER' : behaviour === 'busy' ? 'BUSY' : behaviour === 'noanswer' ? 'NOANSWER' : 'CHANUNAVAIL';
      amiEvent('DialEnd', 'call,all', block(agentLeg), block(customer, 'Dest'), [['DialStatus', status]]);
      amiEvent('Hangup', 'call,all', block(customer), [['Cause', 16], ['Cause-txt', 'Normal Clearing']]);
      amiEvent('Hangup', 'call,all', block(agentLeg), [['Cause', 16], ['Cause-txt', 'Normal Clearing']]);
    }, timing.ringMs);
  }

  function setDeviceState(device: string, state: string): void {
    deviceStates.set(device, state);
    amiEvent('DeviceStateChange', 'call,all', [['Device', device], ['State', state]]);
  }

  // ---- the test's handle ----------------------------------------------------------------------

  function handleFor(ch: Channel): FakeCall {
    return {
      id: ch.id,
      get log() {
        return ch.log;
      },
      get vars() {
        return ch.vars;
      },
      get played() {
        return ch.played;
      },
      get answeredBy() {
        return ch.answeredBy;
      },
      get hungUp() {
        return ch.hungUp;
      },
      async press(digits, gapMs = 20) {
        for (const digit of digits) {
          if (ch.hungUp) return;
          if (ch.app) {
            log(ch, `dtmf ${digit}`);
            if (ch.recording && (ch.recording.terminateOn === 'any' || ch.recording.terminateOn.includes(digit))) finishRecording(ch, 'dtmf');
            emitAri(ch, { type: 'ChannelDtmfReceived', digit, duration_ms: 100, channel: channelJson(ch) });
          } else log(ch, `dtmf-ignored ${digit}`);
          await sleep(gapMs);
        }
      },
      hangup: () => hangup(ch),
      speak(pcm) {
        log(ch, `speak ${pcm.length / 2} samples`);
        ch.recording?.speech.push(pcm);
      },
      timeOf(prefix) {
        const i = ch.log.findLastIndex((l) => l.startsWith(prefix));
        return i < 0 ? undefined : ch.logTimes[i];
      },
      handOffMs() {
        const left = ch.log.findIndex((l) => l.startsWith('continue'));
        const lastKey = ch.log.slice(0, left).findLastIndex((l) => l.startsWith('dtmf '));
        return left < 0 || lastKey < 0 ? undefined : ch.logTimes[left]! - ch.logTimes[lastKey]!;
      },
      waitFor(prefix, timeoutMs = 10_000) {
        const found = ch.log.find((l) => l.startsWith(prefix));
        if (found) return Promise.resolve(found);
        return new Promise((resolve, reject) => {
          const onLog = (c: Channel, line: string) => {
            if (c !== ch || !line.startsWith(prefix)) return;
            clearTimeout(timer);
            changes.off('log', onLog);
            resolve(line);
          };
          const timer = setTimeout(() => {
            changes.off('log', onLog);
            reject(new Error(`call ${ch.id}: no "${prefix}" within ${timeoutMs} ms; log: ${ch.log.join(' | ')}; played: ${ch.played.join(' | ')}; vars: ${[...ch.vars].map(([k, v]) => `${k}=${v}`).join(' ')}`));
          }, timeoutMs);
          changes.on('log', onLog);
        });
      },
    };
  }

  return {
    ami,
    ari,
    /** Every ARI event sent, in order. */
    ariEvents,
    /** Originate requests seen on AMI. */
    originated,
    phones,
    /** Names of the recordings stored (not yet deleted over ARI). */
    storedRecordings: () => [...recordings.keys()],
    get ariUrl() {
      return ari.url();
    },
    get amiPort() {
      return ami.port();
    },
    /** Starts (or restarts, on the same ports) both servers. */
    async start(): Promise<void> {
      await Promise.all([ari.listen(), ami.listen()]);
    },
    /** Closes both servers and every connection; channels stay, like an Asterisk whose interfaces went away. */
    async stop(): Promise<void> {
      await Promise.all([ari.close(), ami.close()]);
    },
    setDeviceState,
    /** Resolves once `app` has a websocket open (registered) — or, with `false`, once it has none. */
    async waitForApp(app = 'hotline', registered = true, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (ari.registeredApps().has(app) !== registered) {
        if (Date.now() > deadline) throw new Error(`app ${app} ${registered ? 'never registered' : 'still registered'}`);
        await sleep(20);
      }
    },
    /** A caller dials the hotline: the call enters `hotline-ivr`. */
    placeCall(caller: { number: string; name?: string; language?: string; app?: string }): FakeCall {
      const n = String(nextChannel++).padStart(8, '0');
      const id = uniqueid();
      const ch: Channel = {
        id,
        linkedid: id,
        name: `PJSIP/trunk-${n}`,
        caller: { name: caller.name ?? '', number: caller.number },
        language: caller.language ?? 'en',
        state: 'Ring',
        context: 'hotline-ivr',
        exten: 's',
        priority: 1,
        vars: new Map(),
        app: null,
        hungUp: false,
        log: [],
        logTimes: [],
        played: [],
        playbacks: [],
        answeredBy: null,
        queue: null,
        member: null,
        timers: new Set(),
        guard: undefined,
      recording: null,
      };
      channels.set(id, ch);
      amiEvent('Newchannel', 'call,all', block(ch));
      enterIvr(ch, caller.app ?? 'hotline');
      return handleFor(ch);
    },
    /** Channels currently held in a Stasis app. */
    channelsInApp: (app = 'hotline') => [...channels.values()].filter((c) => c.app === app).map((c) => c.id),
  };
}

export type FakeAsterisk = ReturnType<typeof createFakeAsterisk>;
