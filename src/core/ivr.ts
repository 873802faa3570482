/**
 * The IVR as a pure state machine: `(state, event) → { state, actions }`.
 * The ARI driver feeds it caller events and carries out the actions; nothing
 * here knows about Asterisk, timers or storage.
 */

/** Prompts the IVR plays, by name; the driver maps names to sound URIs per language. */
export type PromptName =
  | 'enter-ttn'
  | 'invalid-ttn'
  | 'unknown-ttn'
  | 'new-ticket-number'
  | 'no-input'
  | 'connecting-agent'
  | 'connecting-queue'
  | 'operator'
  | 'goodbye'
  /** Voicemail (pbx/voicemail.ts): outside business hours, nobody answered, and thanks after the message. */
  | 'voicemail-closed'
  | 'voicemail-no-answer'
  | 'voicemail-thanks';

/** Why the IVR ended where it did. */
export type IvrOutcome =
  | { kind: 'ticket'; ttn: string; ticketId: number }
  | { kind: 'operator' }
  | { kind: 'new-ticket'; ttn: string; ticketId: number }
  | { kind: 'fallback'; reason: 'no-input' | 'invalid' | 'unknown' | 'error' | 'limited' };

export type IvrAction =
  | { type: 'answer' }
  | { type: 'play'; prompt: PromptName }
  | { type: 'play-digits'; digits: string }
  /** Stop every prompt still playing (barge-in). */
  | { type: 'stop-prompts' }
  /** (Re)start the one IVR timer; a `timeout` event follows unless cleared or restarted. */
  | { type: 'set-timer'; ms: number }
  | { type: 'clear-timer' }
  | { type: 'lookup'; ttn: string }
  | { type: 'create-ticket' }
  | { type: 'digits'; digits: string }
  | { type: 'finish'; outcome: IvrOutcome; unverified: boolean }
  | { type: 'abandon' };

export type IvrEvent =
  | { type: 'start' }
  /** Every queued prompt has finished playing (or failed to play). */
  | { type: 'prompts-done' }
  | { type: 'dtmf'; digit: string }
  | { type: 'timeout' }
  /** `limited`: not looked up, the caller is over the guessing limit. */
  | { type: 'lookup-result'; ticketId: number | null; limited?: boolean }
  | { type: 'ticket-created'; ttn: string; ticketId: number }
  | { type: 'ticket-failed'; limited?: boolean }
  | { type: 'hangup' };

export interface IvrOptions {
  /** Length of the site's TTNs: entry ends at this length when the check digit is right. */
  usualLength: number;
  /** Check-digit test, run before any lookup. */
  isValid(digits: string): boolean;
  /** Failed tries (wrong check digit or unknown ticket) before the caller goes to the default queue. */
  maxTries: number;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
}

export type IvrState =
  | { phase: 'idle' }
  /** Waiting for digits; `prompting` while the prompt plays (the first-digit timer starts when it ends). */
  | { phase: 'entry'; digits: string; failures: number; prompting: boolean; ignoreHash?: boolean }
  /** `auto`: entry ended at the usual length, so a `#` the caller still presses belongs to this number. */
  | { phase: 'lookup'; digits: string; failures: number; auto: boolean }
  | { phase: 'creating' }
  | { phase: 'reading-back'; ttn: string; ticketId: number }
  | { phase: 'done' };

export interface IvrStep {
  state: IvrState;
  actions: IvrAction[];
}

const MAX_DIGITS = 32;
// Safety net for a prompt whose end is never reported: the caller is not left waiting forever.
const PROMPT_SAFETY_MS = 60_000;

export const initialIvrState: IvrState = { phase: 'idle' };

/** One step of the IVR. Unknown or late events leave the state as it is and do nothing. */
export function ivrStep(state: IvrState, event: IvrEvent, options: IvrOptions): IvrStep {
  if (event.type === 'hangup') {
    return state.phase === 'done' ? { state, actions: [] } : { state: { phase: 'done' }, actions: [{ type: 'clear-timer' }, { type: 'abandon' }] };
  }
  switch (state.phase) {
    case 'idle':
      if (event.type !== 'start') return { state, actions: [] };
      return {
        state: { phase: 'entry', digits: '', failures: 0, prompting: true },
        actions: [{ type: 'answer' }, { type: 'play', prompt: 'enter-ttn' }, { type: 'set-timer', ms: PROMPT_SAFETY_MS + options.firstDigitTimeoutMs }],
      };
    case 'entry':
      return entryStep(state, event, options);
    case 'lookup':
      if (event.type !== 'lookup-result') return { state, actions: [] };
      if (event.limited) return finish({ kind: 'fallback', reason: 'limited' }, true);
      if (event.ticketId !== null) {
        return finish({ kind: 'ticket', ttn: state.digits, ticketId: event.ticketId }, false);
      }
      return retry(state.failures + 1, 'unknown-ttn', 'unknown', options, state.auto);
    case 'creating':
      if (event.type === 'ticket-created') {
        // The caller hears the new number twice, digit by digit, before speaking to anyone.
        return {
          state: { phase: 'reading-back', ttn: event.ttn, ticketId: event.ticketId },
          actions: [
            { type: 'play', prompt: 'new-ticket-number' },
            { type: 'play-digits', digits: event.ttn },
            { type: 'play', prompt: 'new-ticket-number' },
            { type: 'play-digits', digits: event.ttn },
            { type: 'set-timer', ms: PROMPT_SAFETY_MS },
          ],
        };
      }
      if (event.type === 'ticket-failed') return finish({ kind: 'fallback', reason: event.limited ? 'limited' : 'error' }, true);
      return { state, actions: [] };
    case 'reading-back':
      // Digits pressed during the read-back are ignored: the number is being told, not asked.
      if (event.type === 'prompts-done' || event.type === 'timeout') {
        return finish({ kind: 'new-ticket', ttn: state.ttn, ticketId: state.ticketId }, false);
      }
      return { state, actions: [] };
    case 'done':
      return { state, actions: [] };
  }
}

function entryStep(state: Extract<IvrState, { phase: 'entry' }>, event: IvrEvent, options: IvrOptions): IvrStep {
  switch (event.type) {
    case 'prompts-done':
      if (!state.prompting) return { state, actions: [] };
      return {
        state: { ...state, prompting: false },
        actions: [{ type: 'set-timer', ms: state.digits ? options.interDigitTimeoutMs : options.firstDigitTimeoutMs }],
      };
    case 'timeout':
      if (state.digits === '') return finish({ kind: 'fallback', reason: 'no-input' }, true, [{ type: 'play', prompt: 'no-input' }]);
      // Callers forget `#`: a pause after some digits ends the entry.
      return submit(state, options);
    case 'dtmf': {
      if (event.digit === '#' && state.ignoreHash && state.digits === '') {
        // The `#` after a number that was already taken at its usual length: not a new-ticket request.
        return { state: { ...state, ignoreHash: false }, actions: [] };
      }
      const bargeIn: IvrAction[] = state.prompting ? [{ type: 'stop-prompts' }] : [];
      const next = { ...state, prompting: false, ignoreHash: false };
      if (event.digit === '*') {
        return { state: { ...next, digits: '' }, actions: [...bargeIn, { type: 'digits', digits: '' }, { type: 'set-timer', ms: options.firstDigitTimeoutMs }] };
      }
      if (event.digit === '#') {
        if (state.digits === '') return { state: { phase: 'creating' }, actions: [...bargeIn, { type: 'clear-timer' }, { type: 'create-ticket' }] };
        return prepend(bargeIn, submit(next, options));
      }
      if (!/^[0-9]$/.test(event.digit)) return { state, actions: [] };
      const digits = state.digits + event.digit;
      const typed = { ...next, digits };
      if (digits.length >= options.usualLength && options.isValid(digits)) return prepend(bargeIn, submit(typed, options, true));
      if (digits.length > MAX_DIGITS) return prepend(bargeIn, submit(typed, options));
      return { state: typed, actions: [...bargeIn, { type: 'digits', digits }, { type: 'set-timer', ms: options.interDigitTimeoutMs }] };
    }
    default:
      return { state, actions: [] };
  }
}

function submit(state: Extract<IvrState, { phase: 'entry' }>, options: IvrOptions, auto = false): IvrStep {
  const { digits } = state;
  if (digits === '0') return finish({ kind: 'operator' }, false, [{ type: 'digits', digits }]);
  if (!options.isValid(digits)) return prepend([{ type: 'digits', digits }], retry(state.failures + 1, 'invalid-ttn', 'invalid', options));
  return {
    state: { phase: 'lookup', digits, failures: state.failures, auto },
    actions: [{ type: 'digits', digits }, { type: 'clear-timer' }, { type: 'lookup', ttn: digits }],
  };
}

function retry(failures: number, prompt: PromptName, reason: 'invalid' | 'unknown', options: IvrOptions, ignoreHash = false): IvrStep {
  if (failures >= options.maxTries) return finish({ kind: 'fallback', reason }, true, [{ type: 'play', prompt }]);
  return {
    state: { phase: 'entry', digits: '', failures, prompting: true, ignoreHash },
    actions: [{ type: 'play', prompt }, { type: 'play', prompt: 'enter-ttn' }, { type: 'set-timer', ms: PROMPT_SAFETY_MS + options.firstDigitTimeoutMs }],
  };
}

function finish(outcome: IvrOutcome, unverified: boolean, before: IvrAction[] = []): IvrStep {
  return { state: { phase: 'done' }, actions: [...before, { type: 'clear-timer' }, { type: 'finish', outcome, unverified }] };
}

function prepend(actions: IvrAction[], step: IvrStep): IvrStep {
  return actions.length ? { state: step.state, actions: [...actions, ...step.actions] } : step;
}
