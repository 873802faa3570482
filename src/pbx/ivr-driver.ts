import { randomUUID } from 'node:crypto';
import type { SecuritySettings } from '../core/security-settings.js';
import type { GuessLimiter } from './guess-limits.js';
import type { AgentService } from '../core/agent-service.js';
import type { CallService } from '../core/call-service.js';
import type { DirectoryService } from '../core/directory-service.js';
import type { IvrAction, IvrEvent, IvrOptions, IvrOutcome, IvrState, PromptName } from '../core/ivr.js';
import { initialIvrState, ivrStep } from '../core/ivr.js';
import type { RouteDecision } from '../core/routing.js';
import { decideRoute } from '../core/routing.js';
import type { TicketService } from '../core/ticket-service.js';
import type { TtnService } from '../core/ttn/ttn-service.js';
import type { TicketForCall } from '../core/ports.js';
import type { CallReason, Queue, Ticket } from '../core/types.js';
import type { Logger } from '../logger.js';
import type { AriConnection, AriEvent } from './ari.js';
import { channelOf } from './ari-events.js';
import { openPhoneTicket } from './phone-ticket.js';
import { FALLBACK_CONTEXT, ROUTE_CONTEXT, ROUTE_EXTENSIONS, STASIS_GUARD_RENEW_MS, VARS } from './names.js';
import type { Presence } from './presence.js';
import { backoffDelay, PbxUnavailableError, withTimeout } from './with-timeout.js';

/** IVR settings from the config. */
export interface IvrSettings {
  maxTries: number;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  /** Seconds the dialplan rings the owner before the queue. */
  ringTimeoutSeconds: number;
  /** Media URI Asterisk plays for a prompt in a language (falling back to English). */
  promptMedia(name: PromptName, language: string): string;
  /** How long that prompt plays, when Hotline has its file; null (or absent): not known. */
  promptDurationMs?(name: PromptName, language: string): number | null;
}

export interface IvrDriverDeps {
  ari: () => AriConnection;
  tickets: TicketService;
  calls: CallService;
  agents: AgentService;
  directory: DirectoryService;
  ttn: TtnService;
  presence: Presence;
  settings: IvrSettings;
  log: Logger;
  /** Limits on guessing ticket numbers by phone. */
  guesses: GuessLimiter;
  /** The site's security settings (caller verification), read when a call is routed. */
  security: () => Promise<SecuritySettings>;
  /** Told when a call is handed back to the dialplan, so AMI events can be joined to it. */
  onHandoff(channelId: string, callId: number): void;
  /** A channel in the app that another part drives (a caller leaving a message): not stranded. */
  elsewhere?: (channelId: string) => boolean;
  /** Whether a queue is open now (business hours, holidays); a closed queue's callers may leave a message. */
  openNow?: (queue: Queue) => boolean;
  /** This instance's Stasis app, which takes the messages of callers nobody answered (`voicemail` in the dialplan). */
  voicemailApp?: string;
  /** This instance (config `instanceId`), set on each channel it hands on. */
  instance?: string;
  /** Pushes the channel's `TIMEOUT(absolute)` out to STASIS_GUARD_SECONDS from now (see `renewGuard`). */
  renewGuard(channelId: string, channelName: string): Promise<void>;
}

interface Session {
  channelId: string;
  /** Asterisk's channel name (`PJSIP/trunk-0000002a`), which AMI actions address. */
  channelName: string;
  callId: number;
  callerNumber: string | null;
  language: string;
  state: IvrState;
  timer: NodeJS.Timeout | undefined;
  /** Renews the dialplan's absolute timeout while the IVR runs (see STASIS_GUARD_SECONDS). */
  guard: NodeJS.Timeout | undefined;
  /** Playbacks started and not yet finished, each with how long it is expected to play (see `touch`). */
  playbacks: Map<string, number>;
  promptsDrained: (() => void) | undefined;
  /** The caller hung up after the IVR finished but before the call was handed on. */
  hungUp: boolean;
  /** Events for this channel run one after another. */
  chain: Promise<void>;
  /** Fires when the IVR has shown no sign of progress for too long (see `watchdogMs`). */
  watchdog: NodeJS.Timeout | undefined;
  /** Continued into the dialplan (the route, or the default queue): nothing more to do for the caller. */
  handedOn: boolean;
  /** Digits keyed so far that the call record does not have yet. */
  unsavedDigits: string | undefined;
  /** The ticket the last lookup found (with what its pop shows), which the route is then decided by (not read a second time). */
  found: TicketForCall | null;
}

// Longest wait for a closing prompt ("no input…") before the call is handed on anyway.
const CLOSING_PROMPT_MS = 10_000;
// The longest the hand-off waits for the call record and the screen-pop (normally a few ms; the pop's
// own acknowledgement waits at most 300 ms): beyond it, the database or Redis is stuck, and the caller goes on.
const ROUTED_WAIT_MS = 2000;
// Tries to hand a call back to the dialplan while Asterisk is connected but slow or refusing.
const HANDOFF_ATTEMPTS = 6;
// How long a channel listed in the app may go without its StasisStart before it counts as stranded.
const ORPHAN_GRACE_MS = 300;
// Beyond the IVR's own timeouts and what is playing, how long a call may show no progress (no key,
// no prompt starting or ending, no step) before the watchdog sends the caller to the default queue.
const WATCHDOG_SLACK_MS = 5000;
// What a prompt whose length Hotline cannot tell may take (a site's own sound, not a file of Hotline's).
const UNKNOWN_PROMPT_MS = 15_000;
// Asterisk says a digit in under a second.
const DIGIT_MS = 1000;
// Tries, and the pause between them, to continue a caller to the default queue after a failure.
const FAILSAFE_ATTEMPTS = 3;
const FAILSAFE_PAUSE_MS = 300;

/**
 * Drives the IVR state machine from ARI events: one session per channel in the
 * Stasis app, carrying out the machine's actions through ARI and the core.
 */
export function createIvrDriver(deps: IvrDriverDeps) {
  const { log, settings } = deps;
  const sessions = new Map<string, Session>();
  const traced = log.isLevelEnabled('debug');

  const options = (): IvrOptions => ({
    usualLength: deps.ttn.usualLength(),
    isValid: deps.ttn.checker().isValidTtn,
    maxTries: settings.maxTries,
    firstDigitTimeoutMs: settings.firstDigitTimeoutMs,
    interDigitTimeoutMs: settings.interDigitTimeoutMs,
  });

  function enqueue(session: Session, event: IvrEvent): void {
    session.chain = session.chain.then(() => run(session, event)).catch((error) => failSafe(session, 'IVR step failed', error));
  }

  /**
   * A sign of progress: the watchdog starts counting again. It allows the IVR's longest timeout, plus
   * everything still to play (Asterisk plays a channel's prompts one after another), plus a few seconds.
   */
  function touch(session: Session): void {
    clearTimeout(session.watchdog);
    if (session.handedOn) return;
    let playing = 0;
    for (const ms of session.playbacks.values()) playing += ms;
    const ms = Math.max(settings.firstDigitTimeoutMs, settings.interDigitTimeoutMs) + playing + WATCHDOG_SLACK_MS;
    session.watchdog = setTimeout(() => void failSafe(session, 'IVR made no progress', new Error(`no progress for ${ms} ms`)), ms);
  }

  /**
   * Whatever went wrong for this caller — a failed read, an ARI error, a stuck step — they go to
   * the default queue (`hotline-fallback` marks them unverified), now. No database is needed for
   * that; the call record is brought up to date afterwards where the database allows.
   */
  async function failSafe(session: Session, why: string, error: unknown): Promise<void> {
    if (session.handedOn) return;
    end(session);
    finish(session);
    log.error({ err: error, channel: session.channelId }, `${why}: the caller goes to the default queue`);
    // Asterisk carries out a channel's requests after its playing prompt: a prompt that does not end
    // would hold the hand-off too. Stopping a playback is not such a request.
    const playing = [...session.playbacks.keys()];
    session.playbacks.clear();
    await Promise.all(playing.map((id) => deps.ari().stopPlayback(id).catch(() => undefined)));
    await continueToFallback(session.channelId, FAILSAFE_ATTEMPTS);
    if (session.callId) {
      const defaultQueue = await deps.directory.defaultQueue().catch(() => null);
      const decision = decideRoute({ owner: null, presence: null, ticketQueue: defaultQueue, defaultQueue });
      await deps.calls.routed(session.callId, { decision, reason: 'error', ticket: null, unverified: true, digits: takeDigits(session) }).catch((e: Error) => log.warn({ err: e.message, channel: session.channelId }, 'call record not updated after the fail-safe'));
    }
  }

  /**
   * Continues a channel into `hotline-fallback` (the default queue), trying up to `attempts` times;
   * false when it could not (the caller is gone, or Asterisk is away: then the dialplan's absolute
   * timeout, or the hang-up, ends the stay).
   */
  async function continueToFallback(channelId: string, attempts: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.ari().continueInDialplan(channelId, FALLBACK_CONTEXT, 's');
        return true;
      } catch (failure) {
        const message = (failure as Error).message;
        if (failure instanceof PbxUnavailableError || /\b(404|412)\b/.test(message) || attempt >= attempts) {
          log.warn({ err: message, channel: channelId }, 'could not continue the caller to the default queue; the dialplan\'s timeout will');
          return false;
        }
        await new Promise((r) => setTimeout(r, FAILSAFE_PAUSE_MS));
      }
    }
  }

  /** Nothing more to do for this caller: no step runs, the watchdog stops. */
  function finish(session: Session): void {
    session.handedOn = true;
    clearTimeout(session.watchdog);
  }

  /** The call's end, in its record where the database allows (bookkeeping never stops a caller). */
  async function recordEnd(session: Session): Promise<void> {
    if (session.callId) await deps.calls.ended(session.callId).catch((error: Error) => log.warn({ err: error.message, channel: session.channelId }, 'call end not recorded'));
  }

  async function run(session: Session, event: IvrEvent): Promise<void> {
    let next: IvrEvent | undefined = event;
    touch(session);
    while (next && !session.handedOn) {
      const step = ivrStep(session.state, next, options());
      if (traced) log.debug({ channel: session.channelId, event: next.type, phase: step.state.phase, actions: step.actions.map((a) => a.type) }, 'IVR step');
      session.state = step.state;
      next = undefined;
      for (const action of step.actions) {
        const follow = await execute(session, action);
        if (follow) next = follow;
      }
    }
  }

  function promptsDone(session: Session): void {
    const drained = session.promptsDrained;
    session.promptsDrained = undefined;
    drained?.();
    enqueue(session, { type: 'prompts-done' });
  }

  async function play(session: Session, media: string, expectedMs: number): Promise<void> {
    const id = randomUUID();
    session.playbacks.set(id, expectedMs);
    try {
      await deps.ari().play(session.channelId, media, id, session.language);
    } catch (error) {
      // A prompt that cannot play must not leave the caller waiting for it to end.
      log.warn({ err: (error as Error).message, media, channel: session.channelId }, 'prompt did not play');
      session.playbacks.delete(id);
      if (session.playbacks.size === 0) promptsDone(session);
    }
  }

  async function execute(session: Session, action: IvrAction): Promise<IvrEvent | undefined> {
    const ari = deps.ari();
    switch (action.type) {
      case 'answer':
        await ari.answer(session.channelId).catch((error: Error) => log.warn({ err: error.message }, 'answer failed'));
        return undefined;
      case 'play':
        await play(session, settings.promptMedia(action.prompt, session.language), settings.promptDurationMs?.(action.prompt, session.language) ?? UNKNOWN_PROMPT_MS);
        return undefined;
      case 'play-digits':
        await play(session, `digits:${action.digits}`, action.digits.length * DIGIT_MS);
        return undefined;
      case 'stop-prompts': {
        const ids = [...session.playbacks.keys()];
        session.playbacks.clear();
        await Promise.all(ids.map((id) => ari.stopPlayback(id).catch(() => undefined)));
        return undefined;
      }
      case 'set-timer':
        clearTimeout(session.timer);
        session.timer = setTimeout(() => enqueue(session, { type: 'timeout' }), action.ms);
        return undefined;
      case 'clear-timer':
        clearTimeout(session.timer);
        session.timer = undefined;
        return undefined;
      case 'digits':
        // Kept with the session and written once the entry ends (not a database write per key).
        session.unsavedDigits = action.digits;
        return undefined;
      case 'lookup': {
        // The digits are written with the route (one write less a call), or when the caller hangs up.
        // Over the guessing limit: not looked up, so a lucky guess is not put through as verified.
        if (!deps.guesses.mayLookUp(session.callerNumber)) {
          log.warn({ channel: session.channelId, caller: session.callerNumber }, 'ticket number not looked up: over the guessing limit; the caller goes to the default queue');
          return { type: 'lookup-result', ticketId: null, limited: true };
        }
        const found = await deps.tickets.findForCall(action.ttn);
        session.found = found;
        if (found) deps.guesses.found(session.callerNumber, found.ticket.id);
        else deps.guesses.failed(session.callerNumber);
        return { type: 'lookup-result', ticketId: found?.ticket.id ?? null };
      }
      case 'create-ticket':
        if (!deps.guesses.mayCreate(session.callerNumber)) {
          log.warn({ channel: session.channelId, caller: session.callerNumber }, 'no ticket opened: this number opened too many; the caller goes to the default queue');
          return { type: 'ticket-failed', limited: true };
        }
        try {
          const { ticket } = await createPhoneTicket(session);
          return { type: 'ticket-created', ttn: ticket.ttn, ticketId: ticket.id };
        } catch (error) {
          log.error({ err: error, channel: session.channelId }, 'new ticket by phone failed');
          return { type: 'ticket-failed' };
        }
      case 'finish':
        await handOff(session, action.outcome, action.unverified);
        return undefined;
      case 'abandon':
        end(session);
        finish(session);
        await saveDigits(session);
        await recordEnd(session);
        return undefined;
    }
  }

  /** The digits keyed since the last write, to be written now (with the route, or alone). */
  function takeDigits(session: Session): string | undefined {
    const digits = session.unsavedDigits;
    session.unsavedDigits = undefined;
    return digits;
  }

  /** Bookkeeping: a failed write (database full, read-only, locked) is logged; the caller goes on. */
  async function saveDigits(session: Session): Promise<void> {
    if (!session.callId) return;
    const digits = takeDigits(session);
    if (digits === undefined) return;
    await deps.calls.digits(session.callId, digits).catch((error: Error) => log.warn({ err: error.message, channel: session.channelId }, 'digits not recorded'));
  }

  async function createPhoneTicket(session: Session) {
    const queue = await deps.directory.defaultQueue();
    if (!queue) throw new Error('no default queue');
    return openPhoneTicket(deps, {
      queueId: queue.id,
      callerNumber: session.callerNumber,
      title: `Phone request from ${session.callerNumber ?? 'unknown number'}`,
      text: 'Opened by the caller from the phone menu; the number was read back before the call went to the queue.',
    });
  }

  function end(session: Session): void {
    clearTimeout(session.timer);
    clearInterval(session.guard);
    sessions.delete(session.channelId);
  }

  /**
   * Pushes the dialplan's `TIMEOUT(absolute)` out again. Asterisk holds a caller inside Stasis() when
   * Hotline dies; this timer is what then takes them to the default queue, so it must keep running
   * out — and be renewed only while this process is alive and driving the call.
   */
  function renewGuard(session: Session): void {
    deps.renewGuard(session.channelId, session.channelName).catch((error: Error) => log.debug({ err: error.message, channel: session.channelId }, 'Stasis guard not renewed'));
  }

  async function decide(outcome: IvrOutcome, found: Ticket | null): Promise<{ decision: RouteDecision; ticket: Ticket | null }> {
    const { decision, ticket } = await decideOpen(outcome, found);
    // The queue is closed (business hours, a holiday): nobody is there to ring; the caller may leave a message.
    if (decision.queue && deps.voicemailApp && deps.openNow && !deps.openNow(decision.queue)) {
      return { decision: { ...decision, route: 'voicemail', agentTarget: null, agentId: null }, ticket };
    }
    return { decision, ticket };
  }

  async function decideOpen(outcome: IvrOutcome, found: Ticket | null): Promise<{ decision: RouteDecision; ticket: Ticket | null }> {
    const defaultQueue = await deps.directory.defaultQueue();
    if (outcome.kind !== 'ticket') {
      const ticket = outcome.kind === 'new-ticket' ? await deps.tickets.findByTtn(outcome.ttn) : null;
      return { decision: decideRoute({ owner: null, presence: null, ticketQueue: defaultQueue, defaultQueue }), ticket };
    }
    const ticket = found?.ttn === outcome.ttn ? found : await deps.tickets.findByTtn(outcome.ttn);
    let owner = ticket?.ownerId ? await deps.agents.findById(ticket.ownerId) : null;
    // An owner who may no longer see the ticket's queue is not rung for it: the queue takes the call.
    if (owner && ticket && (await deps.directory.access(owner.id, ticket.queueId)) === null) owner = null;
    const ticketQueue = ticket ? await deps.directory.findQueue(ticket.queueId) : null;
    const presence = owner ? deps.presence.presenceOf(owner) : null;
    return { decision: decideRoute({ owner, presence, ticketQueue, defaultQueue }), ticket };
  }

  /**
   * With the site's caller verification on: is the caller's number on file for the ticket's
   * customer? (Off: any caller who keys a valid number counts as verified.) Fails open to
   * "unverified", never to a wrong route: the setting changes only what the pop says.
   */
  async function callerOnFile(session: Session, ticket: Ticket): Promise<boolean> {
    try {
      if (!(await deps.security()).verifyCallerNumber) return true;
      const customer = ticket.customerId !== null ? await deps.directory.findCustomer(ticket.customerId) : null;
      const number = deps.directory.normalisePhone(session.callerNumber);
      return !!customer && !!number && customer.phones.includes(number);
    } catch (error) {
      log.warn({ err: (error as Error).message, channel: session.channelId }, 'caller verification not checked; the call is marked unverified');
      return false;
    }
  }

  async function handOff(session: Session, outcome: IvrOutcome, unverified: boolean): Promise<void> {
    if (session.playbacks.size > 0) {
      // Let a closing prompt finish, but never keep the caller from a human for long.
      await new Promise<void>((resolve) => {
        session.promptsDrained = resolve;
        setTimeout(resolve, CLOSING_PROMPT_MS);
      });
    }
    end(session);
    if (session.hungUp) {
      finish(session);
      await saveDigits(session);
      await recordEnd(session);
      return;
    }
    // The outcome kinds ticket / operator / new-ticket are call reasons of the same name.
    const reason: CallReason = outcome.kind === 'fallback' ? outcome.reason : outcome.kind;
    const { decision, ticket } = await decide(outcome, session.found?.ticket ?? null);
    // The pop's articles, read with the ticket at the lookup (read by the pop otherwise).
    const latest = ticket && session.found?.ticket.id === ticket.id ? session.found.latest : undefined;
    if (!unverified && outcome.kind === 'ticket' && ticket) unverified = !(await callerOnFile(session, ticket));
    // Recorded, and the screen-pop sent and acknowledged: awaited before the call moves on.
    // Without a call record (it could not be written) the caller is routed all the same.
    const routed = session.callId ? deps.calls.routed(session.callId, { decision, reason, ticket, latest, unverified, digits: takeDigits(session) }) : Promise.reject(new Error('no call record'));
    // "no input" and the new-ticket read-back already told the caller what happens next.
    const announce: PromptName | null =
      reason === 'no-input' || reason === 'new-ticket' || decision.route === 'voicemail' ? null : reason === 'operator' ? 'operator' : decision.route === 'agent' ? 'connecting-agent' : 'connecting-queue';
    await continueCall(session.channelId, session.callId, decision, ticket?.ttn ?? '', unverified, announce, session.language, routed);
    finish(session);
  }

  /**
   * Sets the route variables and hands the channel back to the dialplan once `routed` (the call
   * record and the screen-pop) is done. The variables go to Asterisk while the pop is on its way:
   * nothing rings before `continue`, so the pop still comes first.
   */
  async function continueCall(channelId: string, callId: number, decision: RouteDecision, ttn: string, unverified: boolean, announce: PromptName | null, language: string, routed: Promise<unknown>): Promise<void> {
    deps.onHandoff(channelId, callId);
    const ari = deps.ari();
    const vars: Array<[string, string]> = [
      [VARS.route, decision.route],
      [VARS.target, decision.agentTarget ?? ''],
      [VARS.ringTimeout, String(settings.ringTimeoutSeconds)],
      [VARS.queue, decision.queue?.asteriskQueue ?? ''],
      [VARS.queueTarget, decision.queue?.dialTarget ?? ''],
      [VARS.ttn, ttn],
      [VARS.callId, String(callId)],
      [VARS.unverified, unverified ? '1' : '0'],
      [VARS.instance, deps.instance ?? ''],
      // Voicemail when nobody answers in time (the queue's setting), or now when it is closed.
      ...voicemailVars(decision),
      // Played by the dialplan before it rings (Playback takes the file without `sound:`).
      [VARS.announce, announce ? settings.promptMedia(announce, language).replace(/^sound:/, '') : ''],
    ];
    const presetting = setVariables(ari, channelId, vars).then(
      () => true,
      () => false,
    );
    // A failed record or pop must not keep the caller from a human, nor a slow one for long (a database
    // or a Redis that hangs): after ROUTED_WAIT_MS the call goes on, and the pop follows when it can.
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      routed.catch((error: unknown) => log.error({ err: error, channel: channelId }, 'call record or screen-pop failed; routing anyway')),
      new Promise<void>((resolve) => {
        waited = setTimeout(() => {
          log.error({ channel: channelId, waitedMs: ROUTED_WAIT_MS }, 'call record or screen-pop not done in time; routing anyway');
          resolve();
        }, ROUTED_WAIT_MS);
      }),
    ]);
    clearTimeout(waited);
    let preset = await presetting;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!preset) await setVariables(ari, channelId, vars);
        preset = false;
        await ari.continueInDialplan(channelId, ROUTE_CONTEXT, ROUTE_EXTENSIONS[decision.route]);
        return;
      } catch (error) {
        const err = (error as Error).message;
        if (error instanceof PbxUnavailableError) {
          // Disconnected: the recovery after reconnect continues the channel to the default queue.
          log.warn({ err, channel: channelId }, 'could not hand the call back to the dialplan; it is continued on reconnect');
          return;
        }
        if (attempt >= HANDOFF_ATTEMPTS) throw new Error(`could not hand the call back to the dialplan after ${attempt} attempts: ${err}`);
        // A request that timed out may still have gone through: retry only while the channel is still in the app.
        const stillHere = await ari.appChannelIds().then((ids) => ids.includes(channelId), () => true);
        if (!stillHere) return;
        log.warn({ err, channel: channelId, attempt }, 'hand-off to the dialplan failed; retrying');
        await new Promise((r) => setTimeout(r, backoffDelay(attempt - 1, 2000)));
      }
    }
  }

  function voicemailVars(decision: RouteDecision): Array<[string, string]> {
    const queue = decision.queue;
    const takes = !!deps.voicemailApp && !!queue && (queue.voicemailAfterSeconds !== null || queue.openHours !== null || decision.route === 'voicemail');
    return [
      [VARS.queueTimeout, takes && queue.voicemailAfterSeconds !== null ? String(queue.voicemailAfterSeconds) : ''],
      [VARS.voicemailApp, takes ? deps.voicemailApp! : ''],
    ];
  }

  /**
   * Sets the variables in one request where it can: Asterisk writes a dialplan function given as
   * the name, and ARRAY(a,b,…) splits its value on commas. A value ARRAY would split or unquote
   * differently (a comma, quote, backslash or bracket in it) is set in a request of its own.
   * All requests go out together and are confirmed before the call moves on.
   */
  async function setVariables(ari: AriConnection, channelId: string, vars: Array<[string, string]>): Promise<void> {
    const packable = vars.filter(([, value]) => !/[,"\\()[\]{}]/.test(value));
    const single = vars.filter((v) => !packable.includes(v));
    const requests = single.map(([name, value]) => ari.setVariable(channelId, name, value));
    if (packable.length > 0) {
      requests.push(ari.setVariable(channelId, `ARRAY(${packable.map(([name]) => name).join(',')})`, packable.map(([, value]) => value).join(',')));
    }
    await Promise.all(requests);
  }

  /** Sends a channel whose IVR state was lost straight to the default queue. */
  async function rescue(channelId: string): Promise<void> {
    const call =
      (await deps.calls.findByChannel(channelId)) ??
      (await deps.calls.started({ channelId, callerNumber: null, callerName: null, language: null }));
    const defaultQueue = await deps.directory.defaultQueue();
    const decision = decideRoute({ owner: null, presence: null, ticketQueue: defaultQueue, defaultQueue });
    const routed = deps.calls.routed(call.id, { decision, reason: 'recovered', ticket: null, unverified: true });
    await continueCall(channelId, call.id, decision, '', true, 'connecting-queue', call.language ?? 'en', routed);
  }

  return {
    /** Feeds one ARI event. */
    handle(event: AriEvent): void {
      const channelId = channelOf(event);
      if (!channelId) return;
      const session = sessions.get(channelId);
      switch (event.type) {
        case 'StasisStart': {
          if (session || !event.channel) return;
          const channel = event.channel;
          const fresh: Session = {
            channelId,
            channelName: channel.name,
            callId: 0,
            callerNumber: channel.caller?.number || null,
            language: channel.language || 'en',
            state: initialIvrState,
            timer: undefined,
            guard: undefined,
            playbacks: new Map(),
            promptsDrained: undefined,
            hungUp: false,
            chain: Promise.resolve(),
            watchdog: undefined,
            handedOn: false,
            unsavedDigits: undefined,
            found: null,
          };
          sessions.set(channelId, fresh);
          fresh.guard = setInterval(() => renewGuard(fresh), STASIS_GUARD_RENEW_MS);
          touch(fresh);
          fresh.chain = deps.calls
            .started({ channelId, callerNumber: fresh.callerNumber, callerName: channel.caller?.name || null, language: fresh.language })
            .then(
              (call) => {
                fresh.callId = call.id;
              },
              // No call record (database full, read-only, locked): the caller is served all the same.
              (error: Error) => log.warn({ err: error.message, channel: channelId }, 'call record not created; the IVR runs without it'),
            )
            .then(() => run(fresh, { type: 'start' }))
            .catch((error) => failSafe(fresh, 'IVR start failed', error));
          return;
        }
        case 'PlaybackStarted':
          if (session) touch(session);
          return;
        case 'ChannelDtmfReceived':
          if (session && event.digit) enqueue(session, { type: 'dtmf', digit: event.digit });
          return;
        case 'PlaybackFinished':
          if (session) touch(session);
          if (session && event.playback && session.playbacks.delete(event.playback.id) && session.playbacks.size === 0) promptsDone(session);
          return;
        case 'ChannelHangupRequest':
        case 'ChannelDestroyed':
        case 'StasisEnd':
          if (!session) return;
          if (session.state.phase === 'done') {
            session.hungUp = true;
            session.promptsDrained?.();
          } else enqueue(session, { type: 'hangup' });
          return;
      }
    },

    /**
     * After (re)connecting: channels Asterisk holds in the app that have no IVR
     * session (the service restarted, or state was lost) go to the default queue;
     * sessions whose channel is gone are closed as abandoned.
     */
    async recover(): Promise<void> {
      // Only sessions that exist before the question is asked can be judged by its answer:
      // a call that enters the app meanwhile is missing from it, yet very much alive.
      const known = [...sessions.values()];
      const ids = new Set(await deps.ari().appChannelIds());
      for (const session of known) {
        const channelId = session.channelId;
        if (sessions.get(channelId) !== session) continue;
        if (!ids.has(channelId)) enqueue(session, { type: 'hangup' });
        else if (session.playbacks.size > 0) {
          // Playback events may have been lost while disconnected.
          session.playbacks.clear();
          promptsDone(session);
        }
      }
      const orphans = [...ids].filter((id) => !sessions.has(id) && !deps.elsewhere?.(id));
      // A caller who has just entered may be listed before their StasisStart is read from the websocket.
      if (orphans.length > 0) await new Promise((r) => setTimeout(r, ORPHAN_GRACE_MS));
      for (const channelId of orphans) {
        if (!sessions.has(channelId) && !deps.elsewhere?.(channelId)) {
          log.warn({ channel: channelId }, 'channel stranded in the app: continuing it to the default queue');
          await rescue(channelId).catch((error) => log.error({ err: error, channel: channelId }, 'stranded channel could not be continued'));
        }
      }
    },

    activeCalls: () => sessions.size,
    /** A caller is in this process's IVR on the channel. */
    isInIvr: (channelId: string) => sessions.has(channelId),

    /**
     * Shutdown: every caller still in the IVR is continued into the default queue (rather than left
     * for the Stasis guard to release), then every timer stops. Bounded: a slow Asterisk cannot hold
     * the shutdown, and the guard still releases whoever could not be handed on.
     */
    async stop(): Promise<void> {
      const open = [...sessions.values()];
      for (const session of open) {
        end(session);
        finish(session);
      }
      await Promise.all(
        open.map((session) =>
          withTimeout(continueToFallback(session.channelId, 1), 2000, 'hand-off at shutdown').then(
            (done) => done && log.info({ channel: session.channelId }, 'shutting down: caller continued to the default queue'),
            (error: Error) => log.warn({ err: error.message, channel: session.channelId }, 'shutting down: caller left to the Stasis guard'),
          ),
        ),
      );
    },
  };
}

export type IvrDriver = ReturnType<typeof createIvrDriver>;
