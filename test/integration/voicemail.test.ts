import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PopHarness } from '../helpers/pops.js';
import { popHarness } from '../helpers/pops.js';

let h: PopHarness;
beforeEach(async () => {
  h = await popHarness();
});
afterEach(async () => h.close());

/** Half a second of a tone as the caller's words: 16-bit PCM at 8 kHz. */
function speech(ms = 1500): Buffer {
  const samples = Math.round((ms / 1000) * 8000);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), i * 2);
  return pcm;
}

// A weekday range that does not include today, in the site's time zone: the queue is closed now.
const closedToday = (): string => {
  const today = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short' }).format(new Date());
  const other = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].find((d) => d !== today)!;
  return `${other} 00:00-24:00`;
};

describe('voicemail', () => {
  it('outside business hours: the owner is not rung, the caller leaves a message that lands on the keyed ticket, playable, and the queue\'s agents are told', async () => {
    await h.hotline.directory.updateQueue(h.queues.billing.id, { openHours: closedToday() });
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = await h.call(`${ticket.ttn}#`);
    await call.waitFor('stasis-start voicemail');
    await call.waitFor('record ');
    expect(call.played.some((m) => m.endsWith('/voicemail-closed'))).toBe(true);
    expect(call.played).toContain('sound:beep');
    call.speak(speech());
    await call.press('#');
    await call.waitFor('recorded ');
    // Thanked, then hung up by Hotline.
    await expect.poll(() => call.hungUp, { timeout: 15_000 }).toBe(true);
    expect(call.played.some((m) => m.endsWith('/voicemail-thanks'))).toBe(true);
    expect(call.log.filter((l) => l.startsWith('dial ') || l.startsWith('queue '))).toEqual([]);

    const record = await h.callRecord(call.id, (c) => c.voicemailArticleId !== null && c.endedAt !== null);
    expect(record).toMatchObject({ route: 'voicemail', outcome: 'voicemail', ticketId: ticket.id });
    const view = await h.hotline.tickets.getVisible(ticket.ttn, { agentId: h.agents.alice.id });
    const message = view.articles.find((a) => a.id === record.voicemailArticleId)!;
    expect(message).toMatchObject({ kind: 'phone', from: '0301234567' });
    expect(message.subject).toMatch(/^Voicemail from 0301234567 \(0:0[12]\)$/);
    const files = await h.hotline.tickets.attachments(ticket.ttn, { agentId: h.agents.alice.id });
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ contentType: 'audio/wav', filename: `voicemail-${record.id}.wav` });
    const { content } = await h.hotline.tickets.attachmentForActor(files[0]!.id, { agentId: h.agents.alice.id });
    expect(content.subarray(44).equals(speech())).toBe(true);
    // Fetched and then deleted on Asterisk.
    expect(h.fake.storedRecordings()).toEqual([]);
    // Every agent who may see Billing is told, once.
    for (const agent of [h.agents.alice, h.agents.bob, h.agents.carol]) {
      const notices = await h.hotline.notices.list(agent.id, 10, 0);
      expect(notices.filter((n) => n.ticketId === ticket.id && /left a message/.test(n.text))).toHaveLength(1);
    }

    // In the browser: an audio player on the ticket, served as WAV; the caller log links the message.
    const cookie = await h.cookieFor('alice');
    const page = await (await fetch(`${h.base}/tickets/${ticket.ttn}`, { headers: { cookie } })).text();
    expect(page).toContain(`<audio controls preload="none" src="/attachments/${files[0]!.id}">`);
    const audio = await fetch(`${h.base}/attachments/${files[0]!.id}`, { headers: { cookie } });
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await audio.arrayBuffer()).equals(content)).toBe(true);
    const log = await (await fetch(`${h.base}/calls`, { headers: { cookie } })).text();
    expect(log).toContain('left a message');
    expect(log).toContain(`href="/tickets/${ticket.ttn}#article-${record.voicemailArticleId}"`);
  });

  it('nobody answered in time: the caller without a ticket number leaves a message on a new phone ticket for their customer, hanging up to end it', async () => {
    await h.hotline.directory.updateQueue(h.queues.support.id, { voicemailAfterSeconds: 5 });
    const customer = await h.hotline.directory.createCustomer({ name: 'Carl', phones: ['+49 30 1234567'] });
    for (const phone of ['Local/201@phones', 'Local/202@phones']) h.fake.phones.set(phone, 'noanswer');
    // No digits: "no input", the default queue (Support); its members ring and nobody answers.
    const call = await h.call('');
    await call.waitFor('queue support');
    await call.waitFor('queue-timeout support');
    await call.waitFor('record ');
    expect(call.played.some((m) => m.endsWith('/voicemail-no-answer'))).toBe(true);
    call.speak(speech(2500));
    call.hangup();
    const record = await h.callRecord(call.id, (c) => c.voicemailArticleId !== null);
    expect(record.outcome).toBe('voicemail');
    const ticket = (await h.hotline.tickets.findById(record.ticketId!))!;
    expect(ticket).toMatchObject({ queueId: h.queues.support.id, customerId: customer.id, title: 'Voicemail from 0301234567' });
    const files = await h.hotline.tickets.attachments(ticket.ttn, { agentId: h.agents.alice.id });
    expect(files.map((f) => f.contentType)).toEqual(['audio/wav']);
    // Carol may not see Support: not told.
    expect((await h.hotline.notices.list(h.agents.carol.id, 10, 0)).filter((n) => n.ticketId === ticket.id)).toEqual([]);
    expect((await h.hotline.notices.list(h.agents.bob.id, 10, 0)).filter((n) => n.ticketId === ticket.id && /left a message/.test(n.text))).toHaveLength(1);
  });

  it('files nothing for a caller who says nothing, and sends the caller to the default queue when the recording cannot start', async () => {
    await h.hotline.directory.updateQueue(h.queues.billing.id, { openHours: closedToday() });
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const silent = await h.call(`${ticket.ttn}#`);
    await silent.waitFor('record ');
    await silent.press('#');
    await expect.poll(() => silent.hungUp, { timeout: 15_000 }).toBe(true);
    await expect.poll(() => h.fake.storedRecordings(), { timeout: 15_000 }).toEqual([]);
    expect((await h.hotline.tickets.attachments(ticket.ttn, { agentId: h.agents.alice.id }))).toEqual([]);
    expect((await h.callRecord(silent.id, (c) => c.endedAt !== null)).voicemailArticleId).toBeNull();

    // Asterisk refuses the recording (a full disk, say): the caller still reaches a human.
    h.fake.ari.setFault((request) => (request.method === 'POST' && request.path.endsWith('/record') ? { status: 500 } : undefined));
    const refused = await h.call(`${ticket.ttn}#`);
    await refused.waitFor('fallback support');
    await refused.waitFor('queue support');
    expect(refused.hungUp).toBe(false);
    refused.hangup();
  });
});
