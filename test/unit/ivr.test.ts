import { describe, expect, it } from 'vitest';
import type { IvrAction, IvrEvent, IvrOptions, IvrState } from '../../src/core/ivr.js';
import { initialIvrState, ivrStep } from '../../src/core/ivr.js';
import { isValidTtn } from '../../src/core/ttn/ttn-text.js';

const TTN = '20261128000019';
const options: IvrOptions = { usualLength: 14, isValid: isValidTtn, maxTries: 3, firstDigitTimeoutMs: 8000, interDigitTimeoutMs: 4000 };

/** Runs events through the machine and returns the final state and every action, in order. */
function run(events: IvrEvent[], from: IvrState = initialIvrState, opts = options) {
  let state = from;
  const actions: IvrAction[] = [];
  for (const event of events) {
    const step = ivrStep(state, event, opts);
    state = step.state;
    actions.push(...step.actions);
  }
  return { state, actions };
}

const keys = (digits: string): IvrEvent[] => [...digits].map((digit) => ({ type: 'dtmf', digit }));
const started: IvrEvent[] = [{ type: 'start' }, { type: 'prompts-done' }];
const finishOf = (actions: IvrAction[]) => actions.find((a) => a.type === 'finish');

describe('IVR state machine', () => {
  it('answers, plays the prompt, and starts the first-digit timer only when the prompt ends', () => {
    const { actions } = run(started);
    expect(actions.slice(0, 2)).toEqual([{ type: 'answer' }, { type: 'play', prompt: 'enter-ttn' }]);
    expect(actions.at(-1)).toEqual({ type: 'set-timer', ms: 8000 });
  });

  it('stops the prompt at the first digit (barge-in) and uses the inter-digit timeout after it', () => {
    const { actions } = run([{ type: 'start' }, ...keys('2')]);
    expect(actions).toContainEqual({ type: 'stop-prompts' });
    expect(actions.at(-1)).toEqual({ type: 'set-timer', ms: 4000 });
    const stops = run([{ type: 'start' }, ...keys('20')]).actions.filter((a) => a.type === 'stop-prompts');
    expect(stops).toHaveLength(1);
  });

  it('looks a number up on # and finishes with the ticket when found', () => {
    const { state, actions } = run([...started, ...keys('18#')]);
    expect(actions).toContainEqual({ type: 'lookup', ttn: '18' });
    expect(state.phase).toBe('lookup');
    const lookedUp = run([...started, ...keys(TTN), { type: 'lookup-result', ticketId: 7 }]);
    expect(finishOf(lookedUp.actions)).toEqual({ type: 'finish', outcome: { kind: 'ticket', ttn: TTN, ticketId: 7 }, unverified: false });
  });

  it('ends entry at the usual length only when the check digit is right', () => {
    expect(run([...started, ...keys(TTN)]).actions).toContainEqual({ type: 'lookup', ttn: TTN });
    const wrong = TTN.slice(0, -1) + '0';
    expect(run([...started, ...keys(wrong)]).state).toMatchObject({ phase: 'entry', digits: wrong });
  });

  it('ignores the # the caller presses after a number that was already taken at its usual length', () => {
    const { state, actions } = run([...started, ...keys(TTN), { type: 'lookup-result', ticketId: null }, { type: 'prompts-done' }, ...keys('#')]);
    expect(actions.some((a) => a.type === 'create-ticket')).toBe(false);
    expect(state).toMatchObject({ phase: 'entry', digits: '', failures: 1 });
  });

  it('says "not valid" and asks again on a wrong check digit; after 3 tries finishes unverified to the fallback', () => {
    const wrong = `${TTN.slice(0, -1)}0#`;
    const once = run([...started, ...keys(wrong)]);
    expect(once.actions).toContainEqual({ type: 'play', prompt: 'invalid-ttn' });
    expect(once.state).toMatchObject({ phase: 'entry', failures: 1, prompting: true });
    const thrice = run([...started, ...keys(wrong), { type: 'prompts-done' }, ...keys(wrong), { type: 'prompts-done' }, ...keys(wrong)]);
    expect(finishOf(thrice.actions)).toEqual({ type: 'finish', outcome: { kind: 'fallback', reason: 'invalid' }, unverified: true });
    expect(thrice.actions.filter((a) => a.type === 'lookup')).toHaveLength(0);
  });

  it('counts unknown tickets toward the same limit', () => {
    const tries = [1, 2].map(() => [...keys(`${TTN}`), { type: 'lookup-result', ticketId: null } as IvrEvent, { type: 'prompts-done' } as IvrEvent]).flat();
    const { actions } = run([...started, ...tries, ...keys(TTN), { type: 'lookup-result', ticketId: null }], initialIvrState, { ...options, maxTries: 3 });
    expect(actions.filter((a) => a.type === 'play' && a.prompt === 'unknown-ttn')).toHaveLength(3);
    expect(finishOf(actions)).toMatchObject({ outcome: { kind: 'fallback', reason: 'unknown' } });
  });

  it('clears the digits on * and starts over', () => {
    const { state, actions } = run([...started, ...keys(`123*${TTN}`)]);
    expect(actions).toContainEqual({ type: 'digits', digits: '' });
    expect(actions).toContainEqual({ type: 'lookup', ttn: TTN });
    expect(state.phase).toBe('lookup');
  });

  it('sends 0 alone to the operator, on # or on the inter-digit timeout', () => {
    expect(finishOf(run([...started, ...keys('0#')]).actions)).toMatchObject({ outcome: { kind: 'operator' }, unverified: false });
    expect(finishOf(run([...started, ...keys('0'), { type: 'timeout' }]).actions)).toMatchObject({ outcome: { kind: 'operator' } });
    expect(run([...started, ...keys('01#')]).actions).toContainEqual({ type: 'play', prompt: 'invalid-ttn' });
  });

  it('treats a pause after some digits as the end of the entry', () => {
    expect(run([...started, ...keys('12'), { type: 'timeout' }]).actions).toContainEqual({ type: 'play', prompt: 'invalid-ttn' });
    expect(run([...started, ...keys('18'), { type: 'timeout' }]).actions).toContainEqual({ type: 'lookup', ttn: '18' });
  });

  it('sends a caller who keys nothing to the fallback, after the no-input prompt', () => {
    const { actions } = run([...started, { type: 'timeout' }]);
    expect(actions).toContainEqual({ type: 'play', prompt: 'no-input' });
    expect(finishOf(actions)).toMatchObject({ outcome: { kind: 'fallback', reason: 'no-input' }, unverified: true });
  });

  it('opens a new ticket on # alone and reads its number back twice before finishing', () => {
    const created = run([...started, ...keys('#'), { type: 'ticket-created', ttn: TTN, ticketId: 9 }]);
    expect(created.actions.filter((a) => a.type === 'play-digits')).toEqual([
      { type: 'play-digits', digits: TTN },
      { type: 'play-digits', digits: TTN },
    ]);
    expect(finishOf(created.actions)).toBeUndefined();
    const done = run([{ type: 'prompts-done' }], created.state);
    expect(finishOf(done.actions)).toMatchObject({ outcome: { kind: 'new-ticket', ttn: TTN, ticketId: 9 } });
    const failed = run([...started, ...keys('#'), { type: 'ticket-failed' }]);
    expect(finishOf(failed.actions)).toMatchObject({ outcome: { kind: 'fallback', reason: 'error' } });
  });

  it('abandons on hang-up in any phase and ignores everything after', () => {
    for (const events of [[{ type: 'start' }], [...started, ...keys('20')], [...started, ...keys(TTN)], [...started, ...keys('#')]] as IvrEvent[][]) {
      const { state, actions } = run([...events, { type: 'hangup' }]);
      expect(state.phase).toBe('done');
      expect(actions.at(-1)).toEqual({ type: 'abandon' });
      expect(run([...keys('1'), { type: 'timeout' }, { type: 'hangup' }], state).actions).toEqual([]);
    }
  });
});
