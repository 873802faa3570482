import { randomUUID } from 'node:crypto';
import type { Hotline } from '../app.js';
import type { Logger } from '../logger.js';
import type { AmiConnection, AmiMessage } from './ami.js';
import { AmiActionError, connectAmi } from './ami.js';
import type { AriConnection } from './ari.js';
import { connectAri } from './ari.js';
import { createCallTracker } from './call-tracker.js';
import type { IvrSettings } from './ivr-driver.js';
import { createIvrDriver } from './ivr-driver.js';
import type { GuessLimits } from './guess-limits.js';
import { createGuessLimits } from './guess-limits.js';
import { loadSecuritySettings } from '../core/security-settings.js';
import { ABSOLUTE_TIMEOUT, STASIS_GUARD_RENEW_MS, STASIS_GUARD_SECONDS } from './names.js';
import { createVoicemail } from './voicemail.js';
import type { OpenHours } from '../core/hours.js';
import { isOpen, parseOpenHours } from '../core/hours.js';
import type { Queue } from '../core/types.js';
import { createPresence } from './presence.js';
import { withTimeout } from './with-timeout.js';

/** Asterisk's OriginateResponse reasons, in words. */
const ORIGINATE_REASONS: Record<string, string> = {
  '0': 'the phone is unavailable (reason 0)',
  '1': 'the phone hung up (reason 1)',
  '3': 'the phone was not answered (reason 3)',
  '5': 'the phone is busy (reason 5)',
  '8': 'the line is congested (reason 8)',
};

/** What became of the customer's leg of a click-to-dial call (its `DialEnd`), in words for the ticket. */
const DIAL_OUTCOMES: Record<string, string> = {
  ANSWER: 'connected: the customer answered',
  BUSY: "the customer's line was busy",
  NOANSWER: 'the customer did not answer',
  CANCEL: 'the agent hung up before the customer answered',
  CONGESTION: 'the line to the customer is congested',
  CHANUNAVAIL: "the customer's number could not be reached",
};

/** The outcome of a click-to-dial call once the customer's line has answered or failed. */
export interface DialOutcome {
  /** Asterisk's DIALSTATUS of the customer's leg, or `NOTDIALLED` when the agent's leg hung up without dialling. */
  status: string;
  connected: boolean;
  /** For the call log on the ticket. */
  text: string;
}

// Longest wait for the customer's leg to answer or fail after the agent picked up.
const CUSTOMER_LEG_MS = 5 * 60_000;

/** How often calls of instances that died are looked for (and taken over). */
const LOST_CALLS_CHECK_MS = 5000;

/**
 * Broadcast calls are claimed one after another, each at once by an idle instance; a busy one first
 * waits a little for each caller in its IVR (and one whose database cannot be written waits longer),
 * so that an idler instance wins the call. Within StasisBroadcast's claim timeout (500 ms by default).
 */
const CLAIM_DELAY_PER_CALL_MS = 20;
const CLAIM_DELAY_MAX_MS = 200;
const CLAIM_DELAY_DEGRADED_MS = 150;

/** Where Asterisk is and how the IVR behaves. */
export interface PbxOptions {
  ariUrl: string;
  ariUser: string;
  ariPassword: string;
  ariApp: string;
  /** This instance among several on one database and one Asterisk (config `instanceId`). */
  instanceId?: string;
  amiHost: string;
  amiPort: number;
  amiUser: string;
  amiSecret: string;
  ivr: IvrSettings;
  /** Limits on guessing ticket numbers by phone (defaults: GUESS_LIMITS). */
  guessLimits?: Partial<GuessLimits>;
  /** Deadline for each ARI request / AMI action. */
  requestTimeoutMs?: number;
  /** Longest pause between reconnect attempts. */
  maxBackoffMs?: number;
}

export interface OriginateRequest {
  /** What to ring first, e.g. the agent's `PJSIP/201`. */
  channel: string;
  context: string;
  exten: string;
  priority?: number;
  callerId?: string;
  variables?: Record<string, string>;
  /** Milliseconds to wait for the first leg to answer. */
  timeoutMs?: number;
}

/**
 * The Asterisk bridge: ARI runs the IVR, AMI reports device states and what
 * happens to calls after the IVR. Both reconnect forever; neither can stop the process.
 */
/** What the bridge uses of the core: the IVR's reads and writes go through `callPath` (its own connections). */
export type PbxServices = Pick<Hotline, 'agents' | 'callPath' | 'calls' | 'clock' | 'config' | 'databaseProblems' | 'log' | 'notices' | 'settings' | 'ttn'>;

export function startPbx(hotline: PbxServices, options: PbxOptions, log: Logger = hotline.log) {
  const presence = createPresence();
  const calls = hotline.calls;
  const tracker = createCallTracker({ calls, agents: hotline.agents, presence, log });
  let ari!: AriConnection;
  let ami!: AmiConnection;
  // Actions answered later by an event (Originate → OriginateResponse), by ActionID.
  const waiters = new Map<string, (event: AmiMessage) => void>();
  // Originated channels whose DialEnd / Hangup tells what the customer's line did, by Uniqueid.
  const dialWatches = new Map<string, (event: AmiMessage) => void>();
  let originates = 0;
  const instance = options.instanceId ?? 'hotline';
  // Broadcast calls to claim, in order; calls won whose StasisStart has not come yet (id → when won).
  const toClaim: string[] = [];
  const won = new Map<string, number>();
  let claiming = false;
  const guesses = createGuessLimits(() => hotline.clock.now().getTime(), options.guessLimits);

  const renewGuard = (channelId: string, channelName: string) =>
    ami.state() === 'connected'
      ? ami.action({ action: 'Setvar', channel: channelName, variable: ABSOLUTE_TIMEOUT, value: String(STASIS_GUARD_SECONDS) }).then(() => undefined)
      : ari.setVariable(channelId, ABSOLUTE_TIMEOUT, String(STASIS_GUARD_SECONDS));
  // Business hours are read as the admin saved them; parsed once per text.
  const hoursOf = new Map<string, OpenHours>();
  const openNow = (queue: Queue): boolean => {
    if (!queue.openHours) return true;
    let hours = hoursOf.get(queue.openHours);
    if (!hours) {
      try {
        hours = parseOpenHours(queue.openHours);
      } catch (error) {
        log.warn({ err: (error as Error).message, queue: queue.name }, 'business hours not readable: the queue counts as open');
        return true;
      }
      hoursOf.set(queue.openHours, hours);
    }
    return isOpen(hours, queue.holidays, hotline.clock.now(), hotline.config.timeZone);
  };
  const voicemail = createVoicemail({
    ari: () => ari,
    calls,
    tickets: hotline.callPath.tickets,
    directory: hotline.callPath.directory,
    notices: hotline.notices,
    log,
    promptMedia: (name, language) => options.ivr.promptMedia(name, language),
    renewGuard,
    guardRenewMs: STASIS_GUARD_RENEW_MS,
  });

  const driver = createIvrDriver({
    guesses,
    security: () => loadSecuritySettings(hotline.settings),
    ari: () => ari,
    tickets: hotline.callPath.tickets,
    calls,
    agents: hotline.callPath.agents,
    directory: hotline.callPath.directory,
    ttn: hotline.ttn,
    presence,
    settings: options.ivr,
    log,
    onHandoff: (channelId, callId) => tracker.track(channelId, callId),
    instance: options.instanceId,
    // Over AMI: an ARI request on a channel waits in the channel's queue behind a prompt that is
    // playing (seen on Asterisk 22: renewals ran only once a 10 s read-back had ended, after the
    // timer had cut it), while AMI's Setvar writes the channel at once. ARI when AMI is away.
    renewGuard,
    elsewhere: (channelId) => voicemail.has(channelId),
    openNow,
    voicemailApp: options.ariApp,
  });

  ari = connectAri({
    url: options.ariUrl,
    user: options.ariUser,
    password: options.ariPassword,
    app: options.ariApp,
    log,
    requestTimeoutMs: options.requestTimeoutMs,
    maxBackoffMs: options.maxBackoffMs,
    onEvent: (event) => (voicemail.handles(event) ? voicemail.handle(event) : driver.handle(event)),
    onConnected: () => {
      driver.recover().catch((error) => log.error({ err: error }, 'ARI channel recovery failed'));
      reconcile();
    },
    onBroadcast: (channelId) => {
      toClaim.push(channelId);
      if (!claiming) void claimAll();
    },
  });

  /** Claims the broadcast calls waiting, one at a time, after a pause that grows with the calls this instance holds. */
  async function claimAll(): Promise<void> {
    claiming = true;
    try {
      for (let channelId = toClaim.shift(); channelId !== undefined; channelId = toClaim.shift()) {
        const now = Date.now();
        for (const [id, at] of won) if (driver.isInIvr(id) || now - at > 2000) won.delete(id);
        const held = driver.activeCalls() + won.size;
        const delay = Math.min(CLAIM_DELAY_MAX_MS, held * CLAIM_DELAY_PER_CALL_MS) + (hotline.databaseProblems().length > 0 ? CLAIM_DELAY_DEGRADED_MS : 0);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const ours = await ari.claim(channelId).catch((error: Error) => {
          log.warn({ err: error.message, channel: channelId }, 'could not claim a broadcast call');
          return false;
        });
        if (ours) won.set(channelId, Date.now());
        log.debug({ channel: channelId, won: ours }, ours ? 'claimed a broadcast call' : 'another instance took the broadcast call');
      }
    } finally {
      claiming = false;
    }
  }

  async function loadPresence(): Promise<void> {
    presence.reset();
    const [devices, queues] = await Promise.all([
      ami.listAction({ action: 'DeviceStateList' }, 'DeviceStateListComplete').catch((error: Error) => {
        log.warn({ err: error.message }, 'AMI DeviceStateList failed; owner availability unknown until device states arrive');
        return [] as AmiMessage[];
      }),
      ami.listAction({ action: 'QueueStatus' }, 'QueueStatusComplete').catch((error: Error) => {
        log.warn({ err: error.message }, 'AMI QueueStatus failed');
        return [] as AmiMessage[];
      }),
    ]);
    for (const e of [...devices, ...queues]) presence.apply(e);
    presence.loaded();
  }

  ami = connectAmi({
    host: options.amiHost,
    port: options.amiPort,
    user: options.amiUser,
    secret: options.amiSecret,
    log,
    actionTimeoutMs: options.requestTimeoutMs,
    maxBackoffMs: options.maxBackoffMs,
    actionIdPrefix: `hotline-${instance}`,
    onEvent: (event) => {
      const name = event.event?.toLowerCase();
      if (event.actionid && name === 'originateresponse') waiters.get(event.actionid)?.(event);
      if (event.uniqueid && (name === 'dialend' || name === 'hangup')) dialWatches.get(event.uniqueid)?.(event);
      presence.apply(event);
      tracker.handle(event);
    },
    onConnected: () => {
      loadPresence().catch((error) => log.error({ err: error }, 'loading device states failed'));
      // Hang-ups while AMI was away were never seen.
      reconcile();
    },
  });

  /**
   * After an outage (AMI or ARI back, or a restart of Hotline): calls still open in the records whose
   * channel Asterisk no longer has ended meanwhile. They are closed — the record gets its end, and
   * their pops are withdrawn (`call.ended`) instead of being shown again on every page load.
   */
  let reconciling = false;
  function reconcile(): void {
    if (reconciling || ari.state() !== 'connected') return;
    reconciling = true;
    void (async () => {
      try {
        const [existing, open] = await Promise.all([ari.channelIds(), calls.open()]);
        const alive = new Set(existing);
        for (const call of open) {
          if (driver.isInIvr(call.channelId)) continue;
          // Another instance's call is its own to follow (a dead one's calls are taken over by adoptLost).
          if (call.instance && call.instance !== instance) continue;
          if (alive.has(call.channelId)) {
            // A call of ours (from before a restart) still running after the IVR: follow it to its end.
            if (call.ivrDoneAt && !tracker.isTracked(call.channelId)) tracker.track(call.channelId, call.id);
            continue;
          }
          tracker.forget(call.channelId);
          await calls.ended(call.id);
          log.info({ channel: call.channelId, call: call.id }, 'call ended while Hotline could not see it: closed');
        }
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'could not check which calls ended during the outage');
      } finally {
        reconciling = false;
      }
    })();
  }

  /**
   * Calls of an instance that died (its `instance:` lease ran out) are taken over, one instance each:
   * one still running (the caller reached the dialplan's fallback, or was handed on before the death)
   * is followed to its end from here; one that is gone is closed now. A caller the dead instance left
   * mid-IVR is recorded as sent to the default queue, unverified (what the dialplan did).
   */
  let adopting = false;
  async function adoptLost(): Promise<void> {
    if (adopting || ari.state() !== 'connected') return;
    adopting = true;
    try {
      const lost = await calls.lost();
      if (lost.length === 0) return;
      const alive = new Set(await ari.channelIds());
      for (const call of lost) {
        const mine = await calls.adopt(call);
        if (!mine) continue;
        log.warn({ call: call.id, channel: call.channelId, from: call.instance }, 'took over a call of an instance that stopped');
        if (!mine.ivrDoneAt) await calls.recovered(mine.id);
        if (alive.has(mine.channelId)) tracker.track(mine.channelId, mine.id);
        else await calls.ended(mine.id);
      }
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'could not take over the calls of an instance that stopped; tried again shortly');
    } finally {
      adopting = false;
    }
  }
  const lostTimer = setInterval(() => void adoptLost(), LOST_CALLS_CHECK_MS);
  lostTimer.unref();

  return {
    presence,
    status: () => ({ ari: ari.state() === 'replaced' ? `taken over by another connection to the Stasis app "${options.ariApp}" (give each instance its own ariApp)` : ari.state(), ami: ami.state(), activeIvrCalls: driver.activeCalls(), trackedCalls: tracker.trackedCalls(), guessing: guesses.status() }),
    /**
     * Rings `channel` and, once answered, connects it to `context,exten` (click-to-dial).
     * Resolves once Asterisk has accepted the request (rejects at once, with a clear message,
     * when AMI is down or Asterisk refuses). `result` rejects when the first leg (the agent's
     * phone) is not answered, and otherwise resolves with what the dialled customer's line did:
     * the channel gets an id of ours (`ChannelId`), whose own `DialEnd` carries that status.
     */
    async originate(request: OriginateRequest): Promise<{ result: Promise<DialOutcome> }> {
      const timeout = request.timeoutMs ?? 30_000;
      const variables = Object.entries(request.variables ?? {}).map(([k, v]) => `${k}=${v}`);
      const actionid = `hotline-${instance}-originate-${++originates}`;
      const channelId = `hotline-dial-${randomUUID()}`;
      const answer = new Promise<AmiMessage>((resolve) => waiters.set(actionid, resolve));
      // Watched before the action goes out: a line that is busy at once may report before the OriginateResponse.
      const customerLeg = new Promise<AmiMessage>((resolve) => {
        dialWatches.set(channelId, (event) => {
          // The first DialEnd is the customer's; a Hangup without one means nobody was dialled.
          if (event.event?.toLowerCase() === 'dialend' && !event.dialstatus) return;
          resolve(event);
        });
      });
      const forget = () => {
        waiters.delete(actionid);
        dialWatches.delete(channelId);
      };
      try {
        await ami.action({
          action: 'Originate',
          actionid,
          channel: request.channel,
          channelid: channelId,
          context: request.context,
          exten: request.exten,
          priority: request.priority ?? 1,
          timeout,
          ...(request.callerId ? { callerid: request.callerId } : {}),
          ...(variables.length ? { variable: variables.join(',') } : {}),
          async: 'true',
        });
      } catch (error) {
        forget();
        throw error;
      }
      const result = withTimeout(answer, timeout + 5000, 'AMI Originate')
        .then(async (response) => {
          if (response.response?.toLowerCase() !== 'success') {
            throw new AmiActionError(`Asterisk could not place the call to ${request.channel}: ${ORIGINATE_REASONS[response.reason ?? ''] ?? `reason ${response.reason ?? 'unknown'}`}`);
          }
          const leg = await withTimeout(customerLeg, CUSTOMER_LEG_MS, "the customer's line");
          const status = leg.event?.toLowerCase() === 'dialend' ? (leg.dialstatus ?? 'UNKNOWN').toUpperCase() : 'NOTDIALLED';
          const text =
            DIAL_OUTCOMES[status] ??
            (status === 'NOTDIALLED' ? 'the customer was not dialled: the call ended first (is HOTLINE_OUTBOUND_CONTEXT set in the dialplan?)' : `the call to the customer ended with ${status}`);
          return { status, connected: status === 'ANSWER', text };
        })
        .finally(forget);
      return { result };
    },
    async close(): Promise<void> {
      clearInterval(lostTimer);
      await driver.stop();
      voicemail.stop();
      await Promise.all([ari.close(), ami.close()]);
    },
  };
}

export type Pbx = ReturnType<typeof startPbx>;
