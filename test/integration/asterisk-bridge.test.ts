import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';
import type { Ticket } from '../../src/core/types.js';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';
import { mistyped } from '../helpers/ttn.js';
import { sineWav } from '../helpers/wav.js';

let h: PbxHarness;
beforeEach(async () => {
  h = await pbxHarness();
});
afterEach(async () => {
  await h.close();
});

/** What Asterisk is told to play for a prompt: the prompt file in the caller's language. */
const prompt = (name: string, lang = 'en') => `sound:${h.hotline.config.promptsPbxDir}/${lang}/${name}`;


describe('call with a TTN', () => {
  it('continues the call to the owner\'s phone when the owner is free, and records who answered', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = h.fake.placeCall({ number: '0301234567', name: 'Alice Caller' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered');

    expect(call.log).toContain('continue hotline-route,agent,1');
    expect(call.log).toContain('dial Local/201@phones');
    expect(call.answeredBy).toBe('Local/201@phones');
    expect(call.vars.get('HOTLINE_ROUTE')).toBe('agent');
    expect(call.vars.get('HOTLINE_TARGET')).toBe('Local/201@phones');
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('billing');
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
    expect(call.vars.get('HOTLINE_UNVERIFIED')).toBe('0');
    expect(call.played[0]).toBe(prompt('enter-ttn'));
    expect(call.log).toContain(`playback ${prompt('connecting-agent').slice(6)}`);

    const answered = await h.callRecord(call.id, (c) => c.answeredBy !== null);
    expect(answered).toMatchObject({ ticketId: ticket.id, route: 'agent', target: 'Local/201@phones', reason: 'ticket', answeredBy: h.agents.alice.id, digits: ticket.ttn, callerNumber: '0301234567' });

    call.hangup();
    const ended = await h.callRecord(call.id, (c) => c.endedAt !== null);
    expect(ended.outcome).toBe('answered');
    const articles = await h.hotline.tickets.articles(ticket.id);
    const callArticle = articles.find((a) => a.kind === 'call');
    expect(callArticle?.text).toContain('Answered by: Alice (alice)');
    expect(callArticle?.text).toContain('Call from 0301234567 (Alice Caller)');
  });

  it('ends entry at the usual length without # when the check digit is right', async () => {
    // With an inter-digit timeout far beyond the wait, only the length can end the entry.
    const patient = await pbxHarness({ config: { ivrInterDigitTimeoutMs: 30_000 } });
    try {
      const ticket = await patient.ticket(patient.queues.billing.id, patient.agents.alice.id);
      const call = patient.fake.placeCall({ number: '0301234567' });
      await call.waitFor('stasis-start');
      await call.press(ticket.ttn);
      await call.waitFor('continue hotline-route,agent,1', 15_000);
    } finally {
      await patient.close();
    }
  });

  it('falls through to the ticket\'s queue when the owner is busy, and the member who answers is recorded', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.bob.id);
    const call = h.fake.placeCall({ number: '0407654321', name: 'Bob' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered');
    expect(call.log).toEqual(expect.arrayContaining(['dial Local/202@phones', 'dial-end Local/202@phones BUSY', 'queue billing', 'agent-called Local/203@phones/n']));
    expect(call.answeredBy).toBe('Local/203@phones/n');
    const record = await h.callRecord(call.id, (c) => c.answeredBy !== null);
    expect(record.answeredBy).toBe(h.agents.carol.id);
    expect(record.agentsRung).toEqual([h.agents.bob.id, h.agents.carol.id]);
  });

  it('sends the call straight to the queue when the owner\'s phone is in use', async () => {
    h.fake.setDeviceState('Custom:agent201', 'INUSE');
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    await expect.poll(() => h.pbx.presence.deviceState('Custom:agent201')).toBe('INUSE');
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered');
    expect(call.log).toContain('continue hotline-route,queue,1');
    expect(call.log.some((l) => l.startsWith('dial Local/201'))).toBe(false);
    expect(call.answeredBy).toBe('Local/203@phones/n');
    expect((await h.callRecord(call.id)).route).toBe('queue');
  });

  it('sets the route in one request, and a dial target with a comma in a request of its own, intact', async () => {
    const field = await h.hotline.directory.createQueue({ name: 'Field', dialTarget: 'Local/203@phones,30' });
    const ticket = await h.ticket(field.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('continue hotline-route,queue,1');
    expect(call.vars.get('HOTLINE_QUEUE_TARGET')).toBe('Local/203@phones,30');
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('');
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
    expect(call.vars.get('HOTLINE_ROUTE')).toBe('queue');
    const sets = h.fake.ari.exchanges.filter((x) => x.method === 'POST' && x.path === `/channels/${call.id}/variable`);
    expect(sets.map((x) => x.params.variable?.startsWith('ARRAY(') ? 'ARRAY' : x.params.variable).sort()).toEqual(['ARRAY', 'HOTLINE_QUEUE_TARGET']);
  });

  it('sends the call to the queue when the owner is marked away', async () => {
    await h.hotline.agents.update(h.agents.alice.id, { away: true });
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('continue hotline-route,queue,1');
  });
});

describe('touch-tone entry', () => {
  it('sends the caller to the default queue, unverified, after three numbers with a wrong check digit', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    for (let i = 1; i <= 3; i++) {
      await call.press(`${mistyped(ticket.ttn)}#`);
      // The next try once the IVR has said this one is not valid.
      if (i < 3) await expect.poll(() => call.played.filter((m) => m === prompt('invalid-ttn')).length, { timeout: 10_000 }).toBe(i);
    }
    await call.waitFor('continue hotline-route,queue,1');
    expect(call.played.filter((m) => m === prompt('invalid-ttn'))).toHaveLength(3);
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('support');
    expect(call.vars.get('HOTLINE_UNVERIFIED')).toBe('1');
    expect(call.vars.get('HOTLINE_TTN')).toBe('');
    const record = await h.callRecord(call.id, (c) => c.reason !== null);
    expect(record).toMatchObject({ reason: 'invalid', unverified: true, ticketId: null });
  });

  it('tells the caller a valid number has no ticket, lets them retry, and routes the right one', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const valid = `1999010100001${luhnCheckDigit.compute('1999010100001')}`;
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${valid}#`);
    await expect.poll(() => call.played).toContain(prompt('unknown-ttn'));
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('continue hotline-route,agent,1');
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
  });

  it('starts entry over on *', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`987*${ticket.ttn}#`);
    await call.waitFor('continue hotline-route,agent,1');
    expect((await h.callRecord(call.id, (c) => c.reason !== null)).digits).toBe(ticket.ttn);
  });

  it('sends 0 alone to the operator (default queue)', async () => {
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press('0#');
    await call.waitFor('continue hotline-route,queue,1');
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('support');
    await call.waitFor('answered');
    expect((await h.callRecord(call.id, (c) => c.reason !== null)).reason).toBe('operator');
  });

  it('opens a new ticket for # alone, reads its number back twice, then routes to the default queue', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Known Caller', phones: ['+49 30 1234567'] });
    const call = h.fake.placeCall({ number: '030 1234567' });
    await call.waitFor('stasis-start');
    await call.press('#');
    await call.waitFor('continue hotline-route,queue,1');
    const ttn = call.vars.get('HOTLINE_TTN')!;
    expect(h.hotline.ttn.checker().isValidTtn(ttn)).toBe(true);
    expect(call.played.filter((m) => m === `digits:${ttn}`)).toHaveLength(2);
    const created = await h.hotline.tickets.findByTtn(ttn);
    expect(created).toMatchObject({ queueId: h.queues.support.id, customerId: customer.id });
    expect((await h.callRecord(call.id, (c) => c.reason !== null)).reason).toBe('new-ticket');
  });

  it('sends a caller who keys nothing to the default queue after the first-digit timeout', async () => {
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.waitFor('continue hotline-route,queue,1', 15_000);
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('support');
    expect((await h.callRecord(call.id, (c) => c.reason !== null)).reason).toBe('no-input');
  });

  it('closes the call record as abandoned when the caller hangs up mid-entry', async () => {
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press('2026');
    call.hangup();
    const record = await h.callRecord(call.id, (c) => c.endedAt !== null);
    expect(record).toMatchObject({ outcome: 'abandoned', digits: '2026', route: null });
    expect(call.log.some((l) => l.startsWith('continue'))).toBe(false);
    await expect.poll(() => h.pbx.status().activeIvrCalls).toBe(0);
  });
});

describe('prompts', () => {
  it('plays the German prompts to a German channel and English to a language without prompts', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const german = h.fake.placeCall({ number: '0301234567', language: 'de' });
    const french = h.fake.placeCall({ number: '0301234568', language: 'fr' });
    await Promise.all([german.waitFor('stasis-start'), french.waitFor('stasis-start')]);
    await expect.poll(() => german.played[0]).toBe(prompt('enter-ttn', 'de'));
    await expect.poll(() => french.played[0]).toBe(prompt('enter-ttn', 'en'));
    await german.press(`${ticket.ttn}#`);
    await german.waitFor('continue');
    expect(german.vars.get('HOTLINE_ANNOUNCE')).toBe(prompt('connecting-agent', 'de').slice(6));
  });

  it('reads a new ticket number back with Asterisk\'s own digits, after the prompt in the caller\'s language', async () => {
    const call = h.fake.placeCall({ number: '0301234567', language: 'de' });
    await call.waitFor('stasis-start');
    await call.press('#');
    await call.waitFor('continue');
    const ttn = call.vars.get('HOTLINE_TTN')!;
    expect(call.played.slice(1)).toEqual([prompt('new-ticket-number', 'de'), `digits:${ttn}`, prompt('new-ticket-number', 'de'), `digits:${ttn}`]);
  });

  it('plays an uploaded prompt on the next call, without a restart', async () => {
    const { readFileSync } = await import('node:fs');
    const before = readFileSync(`${h.hotline.config.promptsDir}/en/enter-ttn.wav`);
    h.hotline.prompts.upload('en', 'enter-ttn', readFileSync(new URL('../../ivr-prompts/de/enter-ttn.wav', import.meta.url)));
    expect(readFileSync(`${h.hotline.config.promptsDir}/en/enter-ttn.wav`).equals(before)).toBe(false);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await expect.poll(() => call.played[0]).toBe(prompt('enter-ttn'));
  });
});

describe('resilience', () => {
  it('rings an owner who has only a Local/ dial string, whose state Asterisk never lists', async () => {
    const { agent: frank } = await h.hotline.agents.create({ login: 'frank', name: 'Frank', role: 'agent', password: 'password123', dialString: 'Local/206@phones' });
    await h.hotline.directory.setAccess(frank.id, h.queues.billing.id, 'rw');
    h.fake.phones.set('Local/206@phones', 'answer');
    h.fake.setDeviceState('Local/206@phones', 'NOT_INUSE');
    const ticket = await h.ticket(h.queues.billing.id, frank.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/206@phones');
    expect((await h.callRecord(call.id, (c) => c.answeredBy !== null)).answeredBy).toBe(frank.id);
  });

  it('counts a losing queue member once although Asterisk reports the CANCEL twice', async () => {
    h.fake.phones.set('Local/202@phones', 'noanswer');
    const missed: number[] = [];
    const off = h.hotline.events.on('call.missed', async ({ agentId }) => {
      missed.push(agentId);
    });
    try {
      const call = h.fake.placeCall({ number: '0301234567' });
      await call.waitFor('stasis-start');
      await call.press('0#');
      await call.waitFor('answered Local/201@phones/n');
      const record = await h.callRecord(call.id, (c) => c.answeredBy !== null);
      expect(record.agentsRung).toEqual([h.agents.alice.id, h.agents.bob.id]);
      call.hangup();
      await h.callRecord(call.id, (c) => c.endedAt !== null);
      // Bob's phone stopped ringing once: one "missed" for him (a withdrawn pop, later a notice), not two.
      expect(missed).toEqual([h.agents.bob.id]);
    } finally {
      off();
    }
  });

  it('puts a caller still in the IVR through to the default queue when the service stops', async () => {
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press('20');
    await h.stopPbx();
    await call.waitFor('continue hotline-fallback,s,1');
    await call.waitFor('queue support');
    expect(call.vars.get('HOTLINE_UNVERIFIED')).toBe('1');
    await h.restartPbx();
  });

  it('lets the dialplan\'s absolute timeout take the caller of a killed service to the default queue', async () => {
    const { startServe } = await import('../helpers/serve.js');
    // The real `hotline serve` on the same database, connected to the same fake Asterisk; the in-process bridge steps aside.
    await h.stopPbx();
    const serve = await startServe(h.hotline.dir, { HOTLINE_DATA_DIR: h.hotline.dir, HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort), HOTLINE_SMTP_ENABLED: 'false' });
    try {
      await h.fake.waitForApp('hotline', true);
      const call = h.fake.placeCall({ number: '0301234567' });
      await call.waitFor('stasis-start');
      await call.press('202');
      const killed = performance.now();
      await serve.stop('SIGKILL');
      await call.waitFor('absolute-timeout', 15_000);
      expect(call.timeOf('absolute-timeout')! - killed).toBeLessThan(10_000);
      await call.waitFor('queue support');
    } finally {
      await serve.stop('SIGKILL');
    }
    await h.restartPbx();
  }, 40_000);

  it('lets the dialplan send callers to the default queue while the service is not registered', async () => {
    await h.stopPbx();
    const call = h.fake.placeCall({ number: '0891112222', name: 'Carol' });
    await call.waitFor('answered');
    expect(call.log.slice(0, 3)).toEqual(['stasis-failed', 'fallback support', 'queue support']);
    expect(call.vars.get('STASISSTATUS')).toBe('FAILED');
    await h.restartPbx();
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const next = h.fake.placeCall({ number: '0301234567' });
    await next.waitFor('stasis-start');
    await next.press(`${ticket.ttn}#`);
    await next.waitFor('answered');
  });

  it('survives Asterisk going away mid-call: no crash, the stranded caller goes to the default queue, new calls are routed', async () => {
    const stranded = h.fake.placeCall({ number: '0301234567' });
    await stranded.waitFor('stasis-start');
    await h.fake.stop();
    await expect.poll(() => h.pbx.status().ari, { timeout: 5000 }).not.toBe('connected');
    // While Asterisk is away the caller's first-digit timer runs out; the hand-off cannot reach Asterisk.
    await h.callRecord(stranded.id, (c) => c.reason === 'no-input');
    await h.fake.start();
    await stranded.waitFor('continue hotline-route,queue,1', 15_000);
    expect(stranded.vars.get('HOTLINE_QUEUE')).toBe('support');
    expect((await h.callRecord(stranded.id, (c) => c.reason === 'recovered')).unverified).toBe(true);
    await stranded.waitFor('answered');

    await h.ready();
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const next = h.fake.placeCall({ number: '0301234567' });
    await next.waitFor('stasis-start');
    await next.press(`${ticket.ttn}#`);
    await next.waitFor('answered Local/201@phones');
  }, 30_000);

  it('keeps a call that comes in while the bridge is still recovering after a reconnect', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    // Asterisk lists the app's channels before the caller arrives, and the answer is slow to come back.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    h.fake.ari.setFault((r) => (r.method === 'GET' && r.path.startsWith('/applications/') ? { until: held } : undefined));
    await h.stopPbx();
    await h.restartPbx();
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    h.fake.ari.setFault(undefined);
    release();
    // The slow answer (which does not list this caller) has reached the bridge.
    await expect.poll(() => h.fake.ari.exchanges.some((x) => x.path === '/applications/hotline' && x.replied), { timeout: 10_000 }).toBe(true);
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    expect((await h.callRecord(call.id, (c) => c.reason !== null)).reason).toBe('ticket');
  });

  it('hands the call on again when Asterisk loses a request, so the caller still reaches the owner', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    let lost = 0;
    h.fake.ari.setFault((r) => (r.method === 'POST' && r.path.endsWith('/variable') && r.params.variable?.includes('HOTLINE_ROUTE') && lost++ === 0 ? { drop: true } : undefined));
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones', 10_000);
    expect(lost).toBeGreaterThanOrEqual(2);
    expect(call.vars.get('HOTLINE_ROUTE')).toBe('agent');
    expect(call.log.filter((l) => l.startsWith('continue'))).toEqual(['continue hotline-route,agent,1']);
  });

  it('does not repeat a hand-off whose answer came too late but which went through', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    h.fake.ari.setFault((r) => (r.method === 'POST' && r.path.endsWith('/continue') ? { delayMs: 2500 } : undefined));
    const appLookups = () => h.fake.ari.exchanges.filter((x) => x.method === 'GET' && x.path === '/applications/hotline').length;
    const lookupsBefore = appLookups();
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    // Past the bridge's 2 s request deadline: it has asked Asterisk where the call is, and left it alone.
    await expect.poll(appLookups, { timeout: 10_000 }).toBe(lookupsBefore + 1);
    const continues = h.fake.ari.exchanges.filter((x) => x.method === 'POST' && x.path.endsWith('/continue'));
    expect(continues).toHaveLength(1);
    expect(appLookups()).toBe(lookupsBefore + 1);
  });

  it('reports the PBX connection in /healthz', async () => {
    const { buildServer } = await import('../../src/http/server.js');
    const server = await buildServer(h.hotline, { pbx: h.pbx });
    const up = await server.inject('/healthz');
    expect(up.json()).toMatchObject({ status: 'ok', pbx: { ari: 'connected', ami: 'connected' } });
    await h.fake.stop();
    await expect.poll(async () => (await server.inject('/healthz')).json().status, { timeout: 5000 }).toBe('degraded');
    await h.fake.start();
    await server.close();
  });
});

describe('load', () => {
  it('routes 100 concurrent calls each to its own ticket\'s target', async () => {
    const owners = [h.agents.alice, null, null];
    const tickets: Ticket[] = [];
    for (let i = 0; i < 100; i++) {
      const queue = i % 2 === 0 ? h.queues.billing : h.queues.support;
      tickets.push(await h.ticket(queue.id, owners[i % 3]?.id ?? null, `ticket ${i}`));
    }
    // 100 callers, each about a ticket of their own.
    const calls = tickets.map((_, i) => h.fake.placeCall({ number: `030${String(1_000_000 + i)}` }));
    await Promise.all(calls.map((c) => c.waitFor('stasis-start')));
    await Promise.all(calls.map((c, i) => c.press(`${tickets[i]!.ttn}#`, 5)));
    await Promise.all(calls.map((c) => c.waitFor('continue', 15_000)));
    calls.forEach((c, i) => {
      const ticket = tickets[i]!;
      expect(c.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
      expect(c.vars.get('HOTLINE_QUEUE')).toBe(ticket.queueId === h.queues.billing.id ? 'billing' : 'support');
      expect(c.vars.get('HOTLINE_ROUTE')).toBe(i % 3 === 0 ? 'agent' : 'queue');
      if (i % 3 === 0) expect(c.vars.get('HOTLINE_TARGET')).toBe('Local/201@phones');
    });
  }, 60_000);
});

describe('a prompt that never ends', () => {
  it('hands the caller to the default queue a few seconds after the prompt should have ended, not a minute later', async () => {
    await h.close();
    // Asterisk starts the playback and then never says it ended.
    h = await pbxHarness({ fake: { timing: { playbackMs: 600_000 } } });
    // A 1 s greeting (an admin's upload): the watchdog knows how long it plays.
    h.hotline.prompts.upload('en', 'enter-ttn', sineWav(8000, 1, 16, 1));
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    const started = call.timeOf('stasis-start')!;
    await call.waitFor('queue support', 20_000);
    const after = call.timeOf('queue support')! - started;
    console.info(`[watchdog] caller of a stuck 1 s prompt in the default queue after ${(after / 1000).toFixed(1)} s`);
    // The IVR's longest timeout (1 s here) + the prompt (1 s) + 5 s of slack.
    expect(after).toBeGreaterThan(2000);
    expect(after).toBeLessThan(9000);
    expect(call.vars.get('HOTLINE_UNVERIFIED')).toBe('1');
  });
});
