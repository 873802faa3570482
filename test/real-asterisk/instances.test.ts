import { afterEach, describe, expect, it } from 'vitest';
import { postgresForFile } from '../helpers/postgres.js';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import { redisAvailable, startRedis } from '../helpers/redis.js';
import type { RealCall } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab, ttnOf } from '../helpers/real-lab.js';

const bundle = realAsteriskTier('instances');

/** Two instances on one PostgreSQL database and one Asterisk, each with its own Stasis app. */
const A = { HOTLINE_INSTANCE_ID: 'inst-a', HOTLINE_ARI_APP: 'hotline-a', HOTLINE_LEASE_SECONDS: '6' };
const B = { HOTLINE_INSTANCE_ID: 'inst-b', HOTLINE_ARI_APP: 'hotline-b', HOTLINE_LEASE_SECONDS: '6' };

let lab: RealLab | undefined;
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
// What several instances share in production: PostgreSQL (each test a database of its own). Without it
// (a machine without postgresql-15) the instances share a SQLite file instead, and say so.
const postgres = postgresForFile('instances: PostgreSQL 15 is not installed (apt-get install postgresql-15); the instances share a SQLite file instead', { when: !!bundle });
const newLab = async () => realLab(bundle!, { databaseUrl: await postgres()?.createDatabase() });
afterEach(async () => {
  await lab?.close();
  lab = undefined;
  await redis?.stop();
  redis = undefined;
}, 60_000);
if (bundle && !redisAvailable()) console.warn('instances: redis-server is missing (apt-get install redis-server); the pops-across-instances scenario fails');

/** A broadcast call taken by `instance` (others are hung up and tried again). */
async function callTakenBy(l: RealLab, instance: string): Promise<RealCall> {
  for (let i = 0; i < 10; i++) {
    const call = await l.dialIn({ exten: '5100' });
    if ((await l.callRecord(call.ivrId, (r) => r.instance !== null)).instance === instance) return call;
    await call.hangup();
  }
  throw new Error(`no call was claimed by ${instance} in 10 tries`);
}

describe.skipIf(!bundle)('several Hotline instances on a real Asterisk 22', () => {
  it('spread broadcast calls over both; a killed instance’s caller reaches the default queue and the other closes its record', async () => {
    lab = await newLab();
    await lab.startHotline(undefined, undefined, A);
    const b = await lab.startAnother(B);
    if (postgres()) expect(((await lab.healthzOf(b.url, () => true, 'B up')) as { dbEngine?: string }).dbEngine).toBe('postgres');

    // Six callers at once, offered to both instances (StasisBroadcast): each taken by one, and both take some.
    const calls = await Promise.all(Array.from({ length: 6 }, (_, i) => lab!.dialIn({ exten: '5100', number: `030123450${i}` })));
    const records = await Promise.all(calls.map((c) => lab!.callRecord(c.ivrId, (r) => r.instance !== null)));
    const taken = records.map((r) => r.instance);
    console.info(`[real Asterisk] 6 broadcast calls taken by: ${taken.join(', ')}`);
    expect(new Set(taken)).toEqual(new Set(['inst-a', 'inst-b']));
    for (const c of calls) await c.hangup();
    const closed = await Promise.all(calls.map((c) => lab!.callRecord(c.ivrId, (r) => r.endedAt !== null)));
    expect(closed.map((r) => r.outcome)).toEqual(Array(6).fill('abandoned'));

    // A call in instance A's IVR when A is killed: the dialplan's guard takes the caller to the
    // default queue, where 205 answers; B, finding A's lease run out, takes the record over and closes it.
    const inA = await callTakenBy(lab, 'inst-a');
    await inA.keys('202');
    const killedAt = performance.now();
    expect(await lab.serve.stop('SIGKILL')).toBe('SIGKILL');
    const joined = await lab.queueJoin(inA.ivrId, 'support', 15_000);
    console.info(`[real Asterisk] the killed instance's caller in the default queue after ${((joined.at - killedAt) / 1000).toFixed(1)} s`);
    expect(joined.at - killedAt).toBeLessThan(10_000);
    await lab.answeredBy(inA.ivrId, 'Local/205@phones');
    const adopted = await lab.callRecord(inA.ivrId, (r) => r.instance === 'inst-b', 30_000);
    console.info(`[real Asterisk] instance B took the record over ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(adopted).toMatchObject({ reason: 'recovered', unverified: true, endedAt: null });
    await inA.hangup();
    expect((await lab.callRecord(inA.ivrId, (r) => r.endedAt !== null)).instance).toBe('inst-b');

    // The next broadcast call is B's, and is routed: the owner's phone answers.
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const next = await lab.dialIn({ exten: '5100' });
    await next.keys(`${ticket.ttn}#`);
    await lab.answeredBy(next.ivrId, 'Local/201@phones');
    expect((await lab.callRecord(next.ivrId, (r) => r.answeredBy !== null)).instance).toBe('inst-b');
    await next.hangup();
  }, 180_000);

  it('tries the instances in turn on an Asterisk without broadcast, and says so when a second instance takes over its Stasis app', async () => {
    lab = await newLab();
    // Only B runs: hotline-a fails at once (no app), and the dialplan goes on to hotline-b.
    const b = await lab.startAnother(B);
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const call = await lab.dialIn({ exten: '5200' });
    expect((await lab.callRecord(call.ivrId, (r) => r.instance !== null)).instance).toBe('inst-b');
    await call.keys(`${ticket.ttn}#`);
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    await call.hangup();

    // A misconfigured second instance with B's app: B does not fight back, and its /healthz says why.
    await lab.startHotline(undefined, undefined, { ...A, HOTLINE_ARI_APP: 'hotline-b' });
    const health = await lab.healthzOf(b.url, (h) => h.status === 'degraded', 'B degraded once its app was taken over');
    expect(health.pbx?.ari).toMatch(/taken over by another connection to the Stasis app "hotline-b"/);
    expect(b.output()).toMatch(/another connection took over the Stasis app \\?"hotline-b/);
  }, 120_000);

  it('puts the pop of a call instance B took on the screen of an agent connected to A before her phone rings, through Redis; callers are routed with Redis gone', async () => {
    redis = await startRedis();
    lab = await newLab();
    await lab.startHotline(undefined, undefined, { ...A, HOTLINE_REDIS_URL: redis.url });
    const b = await lab.startAnother({ ...B, HOTLINE_REDIS_URL: redis.url });
    for (const url of [lab.serve.url, b.url]) await lab.healthzOf(url, (h) => (h.pbx as { pops?: string } | undefined)?.pops === 'Redis ready', 'pops through Redis');
    const { alice } = lab.agents;
    const onA = await lab.agentSocket(alice);
    const other = await lab.agentSocket(lab.agents.erin);
    const ticket = await lab.ticket(lab.queues.billing.id, alice);

    const call = await callTakenBy(lab, 'inst-b');
    await call.keys(`${ticket.ttn}#`);
    const dial = await lab.ami.waitFor((e) => e.Event === 'DialBegin' && e.Uniqueid === call.ivrId, 'DialBegin to the owner');
    const pop = await onA.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
    console.info(`[real Asterisk] pop on instance A ${(dial.at - pop.at).toFixed(0)} ms before instance B rang the owner`);
    expect(pop.at).toBeLessThan(dial.at);
    await lab.answeredBy(call.ivrId, 'Local/201@phones').catch((e) => {
      console.log(JSON.stringify(lab!.ami.events.filter((x) => x.Uniqueid === call.ivrId || x.DestUniqueid === call.ivrId).map((x) => [x.Event, x.DestChannel, x.DialStatus, x.Channel]), null, 0));
      throw e;
    });
    const record = await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null);
    expect(record).toMatchObject({ instance: 'inst-b', answeredBy: alice.id });
    await onA.waitFor('call.answered', (p) => p.callId === record.id);

    // A page opened on B shows the running call again (from the database); dismissed there, it is
    // dismissed on A too, and kept.
    const onB = await lab.agentSocket(alice, { url: b.url });
    await onB.waitFor('call.answered', (p) => p.callId === record.id);
    onB.socket.emit('pop.dismiss', { callId: record.id });
    await onA.waitFor('pop.dismissed', (p) => p.callId === record.id);
    expect([...(await lab.hotline.popState.dismissed(alice.id))]).toEqual([record.id]);
    await call.hangup();
    await onA.waitFor('call.ended', (p) => p.callId === record.id);
    expect(other.received.filter((r) => r.payload.callId === record.id)).toEqual([]);

    // Redis gone: /healthz says pops reach only the instance's own agents, and callers are routed as before.
    await redis.stop();
    redis = undefined;
    const degraded = await lab.healthzOf(b.url, (h) => h.status === 'degraded', 'B degraded without Redis');
    expect(JSON.stringify(degraded)).toMatch(/pops: Redis .*pops reach only agents connected to this instance/);
    const next = await lab.dialIn({ exten: '5100' });
    const keyed = performance.now();
    await next.keys(`${ticket.ttn}#`);
    const answered = await lab.answeredBy(next.ivrId, 'Local/201@phones').catch(async (e) => {
      console.log(JSON.stringify(lab!.ami.events.filter((x) => x.Uniqueid === next.ivrId || x.DestUniqueid === next.ivrId).map((x) => [x.Event, x.DestChannel, x.DialStatus, x.Queue, x.Variable, x.Value]), null, 0));
      console.log(JSON.stringify(await lab!.hotline.calls.findByChannel(next.ivrId)));
      console.log('B:', b.output().slice(-4000));
      console.log('A:', lab!.serve.output().slice(-2000));
      throw e;
    });
    console.info(`[real Asterisk] owner answered ${((answered.at - keyed) / 1000).toFixed(1)} s after the last key with Redis gone`);
    expect(answered.at - keyed).toBeLessThan(10_000);
    await next.hangup();
  }, 180_000);
});
