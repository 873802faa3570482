import { afterEach, describe, expect, it } from 'vitest';
import { createCallService } from '../../src/core/call-service.js';
import { createCallRepository } from '../../src/storage/call-repository.js';
import type { CallStore } from '../../src/core/ports.js';
import { testHotline } from '../helpers/hotline.js';

let h: Awaited<ReturnType<typeof testHotline>>;
afterEach(() => h.dispose());

describe('call service: the end of a call with its article', () => {
  it('hands the text written from its last record to a store that can end and file at once, and goes the old way when the store refuses', async () => {
    h = await testHotline();
    const queue = await h.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
    const { agent } = await h.agents.create({ login: 'anna', name: 'Anna', role: 'agent', password: 'password123' });
    const { ticket } = await h.tickets.create({ queueId: queue.id, title: 'Printer', article: { kind: 'note', text: 'x' } });
    const repository = createCallRepository(h.sql);
    // A store like PostgreSQL's, which here finds the call changed by another process: nothing written.
    const asked: Array<{ expectedRung: number[]; text: string }> = [];
    const store: CallStore = { ...repository, endWithArticle: async (_id, _at, expected, text) => (asked.push({ expectedRung: expected.agentsRung, text }), null) };
    const calls = createCallService({ calls: store, tickets: h.tickets, agents: h.agents, queues: { findById: (id) => h.directory.findQueue(id), access: (agentId, queueId) => h.directory.access(agentId, queueId) }, events: h.events, clock: h.clock });
    const call = await calls.started({ channelId: 'ch-1', callerNumber: '0301234567', callerName: 'Carla', language: 'en' });
    await calls.routed(call.id, { decision: { route: 'queue', queue, agentTarget: null, agentId: null, why: 'no-owner' }, reason: 'ticket', ticket, unverified: false, digits: ticket.ttn });
    await calls.ringing(call.id, agent.id);
    const ended = await calls.ended(call.id);

    // Asked with the record as last written here, the text up to its outcome.
    expect(asked).toHaveLength(1);
    expect(asked[0]!.expectedRung).toEqual([agent.id]);
    expect(asked[0]!.text).toMatch(/^Call from 0301234567 \(Carla\)\n[\s\S]*Agents rung: Anna \(anna\)\n[\s\S]*\nOutcome: $/);
    // Refused: ended and filed the old way, once, with the same text and its outcome.
    expect(ended).toMatchObject({ outcome: 'abandoned' });
    const filed = (await h.tickets.articles(ticket.id)).filter((a) => a.kind === 'call');
    expect(filed.map((a) => [a.subject, a.text])).toEqual([['Call abandoned', `${asked[0]!.text}abandoned`]]);
    // Ended already: nothing asked, nothing filed again.
    await calls.ended(call.id);
    expect(asked).toHaveLength(1);
    expect((await h.tickets.articles(ticket.id)).filter((a) => a.kind === 'call')).toHaveLength(1);
  });
});
