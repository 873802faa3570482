import { randomUUID } from 'node:crypto';
import type { CallService } from '../core/call-service.js';
import type { DirectoryService } from '../core/directory-service.js';
import type { PromptName } from '../core/ivr.js';
import type { NoticeService } from '../core/notice-service.js';
import type { TicketService } from '../core/ticket-service.js';
import type { Call, Ticket } from '../core/types.js';
import type { Logger } from '../logger.js';
import type { AriConnection, AriEvent } from './ari.js';
import { channelOf } from './ari-events.js';
import { openPhoneTicket } from './phone-ticket.js';
import { FALLBACK_CONTEXT, VOICEMAIL_ARG } from './names.js';
import { wavDurationMs } from '../prompts/wav.js';

/** The longest message a caller may leave, and the silence after which it is taken as finished. */
const VOICEMAIL_MAX_SECONDS = 180;
const VOICEMAIL_SILENCE_SECONDS = 8;
/** A recording this short (the tone, a breath) is no message: nothing is filed. */
const SHORTEST_MESSAGE_MS = 700;
/** A WAV of VOICEMAIL_MAX_SECONDS at 8 kHz 16-bit is under 3 MB; room for wideband. */
const MAX_RECORDING_BYTES = 16 * 1024 * 1024;
/** Asterisk writes the file as the recording ends: a fetch that finds nothing yet is tried again. */
const FETCH_ATTEMPTS = 5;
const FETCH_PAUSE_MS = 400;
/** A caller hung up while recording and Asterisk's RecordingFinished did not come: filed after this long. */
const HUNG_UP_FILE_MS = 5000;
/** A prompt whose end is never reported does not hold the caller: after this long the step goes on. */
const PROMPT_SAFETY_MS = 30_000;

/** The recording of the message left on a channel: one per call, named after its channel (file-name safe). */
export const recordingName = (channelId: string): string => `hotline-vm-${channelId.replace(/[^\w.-]/g, '_').slice(0, 120)}`;

export interface VoicemailDeps {
  ari: () => AriConnection;
  calls: CallService;
  tickets: TicketService;
  directory: DirectoryService;
  notices: Pick<NoticeService, 'voicemail'>;
  log: Logger;
  promptMedia(name: PromptName, language: string): string;
  /** Pushes the channel's Stasis guard out again while the message is being left (see ivr-driver.ts). */
  renewGuard(channelId: string, channelName: string): Promise<void>;
  guardRenewMs: number;
}

interface Session {
  channelId: string;
  channelName: string;
  language: string;
  callerNumber: string | null;
  call: Call | null;
  phase: 'prompt' | 'recording' | 'thanks' | 'done';
  recording: string;
  playback: string | null;
  hungUp: boolean;
  guard: NodeJS.Timeout | undefined;
  safety: NodeJS.Timeout | undefined;
}

/**
 * Voicemail: a caller whose queue is closed (business hours, holidays) or whom nobody answered in
 * time comes back into the Stasis app with the argument `voicemail` (dialplan `hotline-route,voicemail`).
 * They hear why and a tone, and their message is recorded live through ARI, fetched over ARI (Asterisk
 * may run elsewhere) and filed as a `phone` article with the recording (WAV, playable in the browser)
 * on the ticket of the TTN they keyed — or on a new phone ticket, customer by caller ID — and every
 * agent who may see its queue is told. The call's log entry links the message.
 *
 * Fail-safe: while Hotline takes the message it renews the Stasis guard; if it dies, the guard takes
 * the caller to the default queue. A recording that cannot start sends the caller to the default queue.
 * A message recorded but not filed (database or ARI down) stays on Asterisk under its name, logged.
 */
export function createVoicemail(deps: VoicemailDeps) {
  const { log } = deps;
  const sessions = new Map<string, Session>();

  const isVoicemail = (event: AriEvent): boolean => event.type === 'StasisStart' && event.args?.[0] === VOICEMAIL_ARG;

  function end(session: Session): void {
    session.phase = 'done';
    clearInterval(session.guard);
    clearTimeout(session.safety);
    sessions.delete(session.channelId);
  }

  /** The caller cannot leave a message after all: the default queue, where a human answers. */
  async function toQueue(session: Session, why: string, error?: unknown): Promise<void> {
    log.error({ err: error, channel: session.channelId }, `voicemail: ${why}; the caller goes to the default queue`);
    end(session);
    if (session.hungUp) return;
    await deps
      .ari()
      .continueInDialplan(session.channelId, FALLBACK_CONTEXT, 's')
      .catch((e: Error) => log.warn({ err: e.message, channel: session.channelId }, 'voicemail: could not continue to the default queue; the Stasis guard will'));
  }

  async function play(session: Session, prompt: PromptName): Promise<void> {
    const id = `vm-${randomUUID()}`;
    session.playback = id;
    clearTimeout(session.safety);
    session.safety = setTimeout(() => void promptDone(session, id), PROMPT_SAFETY_MS);
    await deps.ari().play(session.channelId, deps.promptMedia(prompt, session.language), id, session.language);
  }

  async function start(event: AriEvent): Promise<void> {
    const channel = event.channel!;
    const session: Session = {
      channelId: channel.id,
      channelName: channel.name,
      language: channel.language || 'en',
      callerNumber: channel.caller?.number || null,
      call: null,
      phase: 'prompt',
      recording: recordingName(channel.id),
      playback: null,
      hungUp: false,
      guard: undefined,
      safety: undefined,
    };
    sessions.set(channel.id, session);
    const renew = () => void deps.renewGuard(session.channelId, session.channelName).catch((error: Error) => log.debug({ err: error.message }, 'voicemail: Stasis guard not renewed'));
    renew();
    session.guard = setInterval(renew, deps.guardRenewMs);
    // Without its call record the message is still taken (filed on a new phone ticket).
    session.call = await deps.calls.findByChannel(channel.id).catch((error: Error) => {
      log.warn({ err: error.message, channel: channel.id }, 'voicemail: call record not read');
      return null;
    });
    if (session.call?.language) session.language = session.call.language;
    await play(session, session.call?.route === 'voicemail' ? 'voicemail-closed' : 'voicemail-no-answer');
  }

  async function promptDone(session: Session, playbackId: string): Promise<void> {
    if (session.playback !== playbackId || sessions.get(session.channelId) !== session) return;
    session.playback = null;
    clearTimeout(session.safety);
    if (session.hungUp) return end(session);
    if (session.phase === 'prompt') {
      session.phase = 'recording';
      try {
        await deps.ari().record(session.channelId, session.recording, { maxDurationSeconds: VOICEMAIL_MAX_SECONDS, maxSilenceSeconds: VOICEMAIL_SILENCE_SECONDS, beep: true, terminateOn: '#' });
      } catch (error) {
        // Asterisk answers 500 when its recording directory (astspooldir/recording) is missing or not writable.
        await toQueue(session, `the recording could not start (does Asterisk's recording directory, astspooldir/recording, exist and can Asterisk write to it?)`, error);
      }
    } else if (session.phase === 'thanks') {
      end(session);
      await deps.ari().hangup(session.channelId).catch(() => undefined);
    }
  }

  async function recorded(session: Session, event: AriEvent): Promise<void> {
    if (session.phase !== 'recording') return;
    clearTimeout(session.safety);
    if (event.type === 'RecordingFailed') return toQueue(session, `the recording failed (${event.recording?.cause ?? 'no cause given'})`);
    if (session.hungUp) end(session);
    else {
      session.phase = 'thanks';
      await play(session, 'voicemail-thanks').catch((error: Error) => {
        log.warn({ err: error.message }, 'voicemail: thanks not played');
        end(session);
        return deps.ari().hangup(session.channelId).catch(() => undefined);
      });
    }
    await file(session);
  }

  /** Fetches the recording and files it on the ticket; the stored copy on Asterisk is deleted once filed. */
  async function file(session: Session): Promise<void> {
    const ari = deps.ari();
    let audio: Buffer | null = null;
    for (let attempt = 1; audio === null; attempt++) {
      try {
        audio = await ari.storedRecording(session.recording, MAX_RECORDING_BYTES);
      } catch (error) {
        if (attempt >= FETCH_ATTEMPTS) {
          log.error({ err: (error as Error).message, recording: session.recording, channel: session.channelId }, 'voicemail: the message could not be fetched; it stays on Asterisk under this name');
          return;
        }
        await new Promise((r) => setTimeout(r, FETCH_PAUSE_MS * attempt));
      }
    }
    const ms = wavDurationMs(audio);
    if (ms !== null && ms < SHORTEST_MESSAGE_MS) {
      log.info({ channel: session.channelId, ms }, 'voicemail: no message left');
      await ari.deleteStoredRecording(session.recording).catch(() => undefined);
      return;
    }
    try {
      await save(session, audio, ms);
      await ari.deleteStoredRecording(session.recording).catch((error: Error) => log.warn({ err: error.message, recording: session.recording }, 'voicemail: filed, but the copy on Asterisk was not deleted'));
    } catch (error) {
      log.error({ err: error, recording: session.recording, channel: session.channelId }, 'voicemail: the message could not be filed; it stays on Asterisk under this name');
    }
  }

  const clock = (ms: number | null) => (ms === null ? '?' : `${Math.floor(ms / 60_000)}:${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}`);

  async function ticketFor(session: Session): Promise<Ticket> {
    const call = session.call;
    const keyed = call?.ticketId ? await deps.tickets.findById(call.ticketId) : null;
    if (keyed) return keyed;
    const queue = (call?.queueId ? await deps.directory.findQueue(call.queueId) : null) ?? (await deps.directory.defaultQueue());
    if (!queue) throw new Error('no queue to file the message in');
    const { ticket } = await openPhoneTicket(deps, {
      queueId: queue.id,
      callerNumber: session.callerNumber,
      title: `Voicemail from ${session.callerNumber ?? 'an unknown number'}`,
      text: 'Opened for a message the caller left on the phone (below).',
    });
    if (call) await deps.calls.linkTicket(call.id, ticket.id).catch((error: Error) => log.warn({ err: error.message }, 'voicemail: the new ticket was not put on the call'));
    return ticket;
  }

  async function save(session: Session, audio: Buffer, ms: number | null): Promise<void> {
    const ticket = await ticketFor(session);
    const from = session.callerNumber ?? 'an unknown number';
    const why = session.call?.route === 'voicemail' ? 'outside business hours' : 'nobody answered';
    const { article } = await deps.tickets.addArticle(ticket.id, {
      kind: 'phone',
      from: session.callerNumber,
      subject: `Voicemail from ${from} (${clock(ms)})`,
      // Speech recognition here covers no telephone audio (see README, "Voicemail"): no transcript.
      text: `The caller ${from} left a message of ${clock(ms)} (${why}). Play it below.`,
    });
    await deps.tickets.attach(article.id, { filename: `voicemail-${session.call?.id ?? 'call'}.wav`, contentType: 'audio/wav', content: audio });
    if (session.call) await deps.calls.leftVoicemail(session.call.id, article.id);
    await deps.notices.voicemail(ticket, from, clock(ms));
    log.info({ ticket: ticket.ttn, article: article.id, ms }, 'voicemail filed');
  }

  return {
    /** Whether the event is this driver's: a voicemail entry, or an event on a channel leaving a message. */
    handles(event: AriEvent): boolean {
      if (isVoicemail(event)) return true;
      const channelId = channelOf(event);
      return channelId !== undefined && sessions.has(channelId);
    },
    handle(event: AriEvent): void {
      if (isVoicemail(event)) {
        if (!event.channel || sessions.has(event.channel.id)) return;
        const channelId = event.channel.id;
        void start(event).catch((error) => {
          const session = sessions.get(channelId);
          if (session) void toQueue(session, 'the message could not be taken', error);
        });
        return;
      }
      const channelId = channelOf(event);
      const session = channelId ? sessions.get(channelId) : undefined;
      if (!session) return;
      switch (event.type) {
        case 'PlaybackFinished':
          if (event.playback) void promptDone(session, event.playback.id);
          return;
        case 'RecordingFinished':
        case 'RecordingFailed':
          if (event.recording?.name === session.recording) void recorded(session, event).catch((error) => log.error({ err: error }, 'voicemail: filing failed'));
          return;
        case 'StasisEnd':
        case 'ChannelHangupRequest':
        case 'ChannelDestroyed':
          // Hung up while recording: Asterisk still finishes the recording (RecordingFinished), which files
          // it; should that event be lost, the message is filed all the same a little later.
          if (session.hungUp) return;
          session.hungUp = true;
          if (session.phase !== 'recording') end(session);
          else {
            clearTimeout(session.safety);
            session.safety = setTimeout(() => void recorded(session, { type: 'RecordingFinished', recording: { name: session.recording, target_uri: '', state: 'done' } }).catch(() => undefined), HUNG_UP_FILE_MS);
          }
          return;
      }
    },
    /** A caller is leaving a message on the channel (the IVR's recovery leaves them be). */
    has: (channelId: string) => sessions.has(channelId),
    stop(): void {
      for (const session of [...sessions.values()]) {
        clearInterval(session.guard);
        clearTimeout(session.safety);
      }
      sessions.clear();
    },
  };
}

export type Voicemail = ReturnType<typeof createVoicemail>;
