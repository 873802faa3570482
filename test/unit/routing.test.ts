import { describe, expect, it } from 'vitest';
import { decideRoute } from '../../src/core/routing.js';
import type { Agent, Queue } from '../../src/core/types.js';

const agent = (over: Partial<Agent> = {}): Agent => ({
  id: 1, login: 'alice', name: 'Alice', email: null, role: 'agent', dialString: 'PJSIP/201', deviceInterface: 'PJSIP/201',
  language: 'en', active: true, away: false, notifyByEmail: false, timeZone: null, createdAt: '', ...over,
});
const queue = (over: Partial<Queue> = {}): Queue => ({ id: 10, name: 'Billing', email: null, dialTarget: null, asteriskQueue: 'billing', isDefault: false, reopenPolicy: 'reopen', autoReply: null, signature: null, voicemailAfterSeconds: null, openHours: null, holidays: [], createdAt: '', ...over });
const defaultQueue = queue({ id: 1, name: 'Support', asteriskQueue: 'support', isDefault: true });
const free = { deviceState: 'NOT_INUSE', paused: false };

describe('decideRoute', () => {
  it('rings the owner when the phone is idle and the owner active, present and not paused', () => {
    expect(decideRoute({ owner: agent(), presence: free, ticketQueue: queue(), defaultQueue })).toMatchObject({
      route: 'agent', agentTarget: 'PJSIP/201', agentId: 1, queue: { name: 'Billing' }, why: 'owner-available',
    });
  });

  it('rings an owner whose device Asterisk reports no state for (a Local/ dial string without a state interface)', () => {
    const owner = agent({ dialString: 'Local/201@phones', deviceInterface: null });
    expect(decideRoute({ owner, presence: { deviceState: undefined, paused: false }, ticketQueue: queue(), defaultQueue })).toMatchObject({ route: 'agent', agentTarget: 'Local/201@phones', why: 'owner-available' });
  });

  it.each([
    ['in use', agent(), { deviceState: 'INUSE', paused: false }],
    ['ringing', agent(), { deviceState: 'RINGING', paused: false }],
    ['unknown (AMI down)', agent(), null],
    ['paused', agent(), { deviceState: 'NOT_INUSE', paused: true }],
    ['away', agent({ away: true }), free],
    ['inactive', agent({ active: false }), free],
    ['without a phone', agent({ dialString: null }), free],
  ])('sends the call to the ticket queue when the owner is %s', (_why, owner, presence) => {
    expect(decideRoute({ owner, presence, ticketQueue: queue(), defaultQueue })).toMatchObject({ route: 'queue', agentTarget: null, queue: { name: 'Billing' }, why: 'owner-unavailable' });
  });

  it('uses the queue → extension map entry of a queue without an Asterisk queue', () => {
    const mapped = queue({ asteriskQueue: null, dialTarget: 'PJSIP/600' });
    expect(decideRoute({ owner: null, presence: null, ticketQueue: mapped, defaultQueue })).toMatchObject({ route: 'queue', queue: { dialTarget: 'PJSIP/600' }, why: 'no-owner' });
  });

  it('falls back to the default queue when the ticket queue is not mapped to the PBX', () => {
    const unmapped = queue({ asteriskQueue: null, dialTarget: null });
    expect(decideRoute({ owner: null, presence: null, ticketQueue: unmapped, defaultQueue })).toMatchObject({ route: 'queue', queue: { name: 'Support' }, why: 'queue-unmapped' });
    expect(decideRoute({ owner: agent(), presence: free, ticketQueue: unmapped, defaultQueue })).toMatchObject({ route: 'agent', queue: { name: 'Support' } });
  });
});
