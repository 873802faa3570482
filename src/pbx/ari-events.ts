import { z } from 'zod';
import type { AriEvent } from './ari.js';

/**
 * The ARI events the IVR acts on, checked at the edge: anything else from the websocket — not
 * JSON, `null`, a known type with fields missing or of the wrong kind — is dropped and logged,
 * never handed to the driver (where a `null` used to stop the process).
 */
const text = (max: number) => z.string().max(max);
const channel = z.object({
  id: text(200).min(1),
  name: text(300).catch(''),
  state: text(40).catch(''),
  caller: z.object({ name: text(200).catch(''), number: text(80).catch('') }).catch({ name: '', number: '' }),
  language: text(40).optional().catch(undefined),
});
const withChannel = z.object({ type: z.string(), channel });
const playback = z.object({ type: z.string(), playback: z.object({ id: text(200).min(1), target_uri: text(300), media_uri: text(2000).catch(''), state: text(40).catch('') }) });

const recording = z.object({
  type: z.string(),
  recording: z.object({ name: text(200).min(1), target_uri: text(300).catch(''), state: text(40).catch(''), duration: z.number().nonnegative().optional().catch(undefined), cause: text(200).optional().catch(undefined) }),
});

const SCHEMAS: Record<string, z.ZodType> = {
  // `args`: what the dialplan gave Stasis() after the app's name (`voicemail` for a caller who may leave a message).
  StasisStart: withChannel.extend({ args: z.array(text(200)).max(20).catch([]) }),
  StasisEnd: withChannel,
  ChannelHangupRequest: withChannel,
  ChannelDestroyed: withChannel,
  ChannelDtmfReceived: withChannel.extend({ digit: z.string().regex(/^[0-9*#A-D]$/) }),
  PlaybackStarted: playback,
  PlaybackFinished: playback,
  RecordingStarted: recording,
  RecordingFinished: recording,
  RecordingFailed: recording,
  // Another websocket took the Stasis app over (Asterisk lets one hold it: the newer wins).
  ApplicationReplaced: z.object({ type: z.string(), application: text(200).catch('') }),
  // StasisBroadcast(): a call any instance may claim (Asterisk 20.17, 22.7, 23.1 and later).
  CallBroadcast: withChannel,
};


export type AriEventCheck = { event: AriEvent } | { ignored: string } | { invalid: string };

/** Reads one websocket message: a checked event the IVR uses, an event it does not use, or why it is invalid. */
export function readAriEvent(data: unknown): AriEventCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(String(data));
  } catch {
    return { invalid: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { invalid: 'not an object' };
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string') return { invalid: 'no type' };
  const schema = SCHEMAS[type];
  if (!schema) return { ignored: type };
  const checked = schema.safeParse(raw);
  if (!checked.success) return { invalid: `${type}: ${checked.error.issues.map((i) => `${i.path.join('.') || '(event)'} ${i.message}`).join('; ')}` };
  return { event: checked.data as AriEvent };
}

/** The channel an event is about: its channel, or the one a playback or recording plays to or records. */
export const channelOf = (event: AriEvent): string | undefined =>
  event.channel?.id ?? event.playback?.target_uri?.replace(/^channel:/, '') ?? event.recording?.target_uri?.replace(/^channel:/, '');
