import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/prompts/wav.js';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab } from '../helpers/real-lab.js';
import { recordingName } from '../../src/pbx/voicemail.js';

const bundle = realAsteriskTier('voicemail');

const ARI_AUTH = { authorization: `Basic ${Buffer.from('hotline:hotline').toString('base64')}` };

/** Resolves once Hotline records the message left on `channelId` (a live recording under its name), asked every 100 ms for at most 60 s. */
async function recording(channelId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${lab.asterisk.ariUrl}/ari/recordings/live/${recordingName(channelId)}`, { headers: ARI_AUTH });
    if (res.ok && ((await res.json()) as { state: string }).state === 'recording') return;
    if (Date.now() > deadline) {
      if (process.env.DEBUG_LAB) {
        const { readFileSync } = await import('node:fs');
        console.log(lab.serve.output().split('\n').filter((l) => /voicemail|record|error|warn/i.test(l)).slice(-30).join('\n'));
        console.log(readFileSync(`${lab.asterisk.work}/log/full`, 'utf8').split('\n').filter((l) => /ERROR|WARNING|record/i.test(l)).slice(-40).join('\n'));
      }
      throw new Error(`no live recording of ${channelId} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The loudest sample of a WAV, from 0 to 1: silence is near 0, speech well above. */
const peak = (wav: Buffer): number => readWav(wav).samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0);

let lab: RealLab;

describe.skipIf(!bundle)('voicemail on a real Asterisk 22', () => {
  beforeAll(async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  it('nobody in the queue answers in time: the caller leaves a message, recorded live and fetched over ARI, on the keyed ticket', async () => {
    const { support, billing } = lab.queues;
    await lab.hotline.directory.updateQueue(billing.id, { voicemailAfterSeconds: 5 });
    // Carol (203) is on the phone: only Dave (204) rings in Billing, and he never answers.
    await lab.asterisk.cli('devstate change Custom:agent203 INUSE');
    try {
      const ticket = await lab.ticket(billing.id, null);
      const call = await lab.dialIn({ number: '0301234567' });
      await call.keys(`${ticket.ttn}#`);
      const joined = await lab.queueJoin(call.ivrId, 'billing', 30_000);
      const left = await lab.ami.waitFor((e) => e.Event === 'QueueCallerLeave' && e.Uniqueid === call.ivrId, 'the caller leaving Billing after its time', 30_000);
      expect(left.at - joined.at).toBeGreaterThan(4000);
      // Back in Hotline's app: why, and the tone; the caller speaks once the recording runs.
      await recording(call.ivrId);
      const recordStarted = Date.now();
      await call.say('sound:hello-world', 60_000);
      await call.say('sound:hello-world', 60_000);
      await call.keys('#');
      const record = await lab.callRecord(call.ivrId, (c) => c.voicemailArticleId !== null, 60_000);
      expect(record).toMatchObject({ ticketId: ticket.id, outcome: 'voicemail', answeredBy: null });
      const files = await lab.hotline.tickets.attachments(ticket.ttn, { agentId: lab.agents.dave.id });
      expect(files.map((f) => f.contentType)).toEqual(['audio/wav']);
      const { content } = await lab.hotline.tickets.attachmentForActor(files[0]!.id, { agentId: lab.agents.dave.id });
      const audio = readWav(content);
      // What the caller said is in it: about two "hello world"s, not silence.
      expect(audio.sampleRate).toBe(8000);
      expect(audio.frames / audio.sampleRate).toBeGreaterThan(1);
      expect(audio.frames / audio.sampleRate).toBeLessThan((Date.now() - recordStarted) / 1000 + 1);
      expect(peak(content)).toBeGreaterThan(0.05);
      // Thanked and hung up by Hotline; the recording is gone from Asterisk.
      await lab.ami.waitFor((e) => e.Event === 'Hangup' && e.Uniqueid === call.ivrId, 'the call ending after the message', 30_000);
      const stored = await fetch(`${lab.asterisk.ariUrl}/ari/recordings/stored`, { headers: ARI_AUTH });
      expect(await stored.json()).toEqual([]);
      expect((await lab.callRecord(call.ivrId, (c) => c.endedAt !== null)).outcome).toBe('voicemail');
      expect(support.id).not.toBe(billing.id);
    } finally {
      await lab.asterisk.cli('devstate change Custom:agent203 NOT_INUSE');
      await lab.hotline.directory.updateQueue(billing.id, { voicemailAfterSeconds: null });
    }
  }, 120_000);

  it('outside business hours: no phone rings; Hotline killed while the caller speaks, the caller still reaches the default queue', async () => {
    const { billing } = lab.queues;
    const today = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short' }).format(new Date());
    await lab.hotline.directory.updateQueue(billing.id, { openHours: `${today === 'Mon' ? 'Tue' : 'Mon'} 08:00-17:00` });
    const ticket = await lab.ticket(billing.id, lab.agents.alice);
    const call = await lab.dialIn({ number: '0301234567' });
    await call.keys(`${ticket.ttn}#`);
    const record = await lab.callRecord(call.ivrId, (c) => c.route === 'voicemail', 30_000);
    expect(record.ticketId).toBe(ticket.id);
    await recording(call.ivrId);
    await call.say('sound:hello-world', 60_000);
    // Hotline dies: the Stasis guard it renewed runs out, and the dialplan takes the caller to the default queue (Erin, 205).
    await lab.serve.stop('SIGKILL');
    await lab.answeredBy(call.ivrId, 'Local/205@phones', 30_000);
    expect(lab.ami.events.some((e) => e.Event === 'DialBegin' && e.Uniqueid === call.ivrId && /^Local\/20[134]@/.test(e.DestChannel ?? ''))).toBe(false);
    await call.hangup();
    // The file's last test: its lab (and the killed Hotline's) ends in afterAll.
  }, 120_000);
});
