import type { Browser } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { lockHolder, smallFileSystem, unprivilegedUser } from '../helpers/faults.js';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab, ttnOf } from '../helpers/real-lab.js';

const bundle = realAsteriskTier('failures');
const disk = bundle ? smallFileSystem(16 * 1024) : { unavailable: 'no Asterisk bundle' };
if ('unavailable' in disk && bundle) console.warn(`failures: ${disk.unavailable}; the full-disk scenario is skipped`);
afterAll(() => ('dir' in disk ? disk.dispose() : undefined));
const nobody = bundle ? unprivilegedUser() : { unavailable: 'no Asterisk bundle' };
if ('unavailable' in nobody && bundle) console.warn(`failures: ${nobody.unavailable}; the read-only database scenario is skipped`);

/** Each scenario breaks something: a lab of its own. */
let lab: RealLab | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await lab?.close();
  lab = undefined;
}, 60_000);

/**
 * With the database failing under it, a caller keys `ttn` and alice (its owner) answers — her phone,
 * not the default queue's member: routed as a found ticket. The lab's usual time from the last key to
 * her answer (the "connecting you" prompt, then her phone's ring) is 6.6 s, with or without the fault;
 * the dialplan's guard would have sent an abandoned caller to the queue at 8 s. /healthz then says
 * degraded, for `reason`.
 */
async function ownerAnswersAndHealthSays(lab: RealLab, ttn: string, fault: string, reason: RegExp): Promise<void> {
  const call = await lab.caller.place();
  await call.answered();
  await call.keys(`${ttn}#`);
  const keyed = performance.now();
  const answered = await lab.answeredBy(call.ivrId, 'Local/201@phones');
  console.info(`[real Asterisk] owner answered ${((answered.at - keyed) / 1000).toFixed(1)} s after the last key, with ${fault}`);
  expect(answered.at - keyed).toBeLessThan(10_000);
  const health = await lab.healthz((h) => h.status === 'degraded', `healthz degraded with ${fault}`);
  expect(JSON.stringify(health)).toMatch(reason);
  await call.hangup();
}

describe.skipIf(!bundle)('a real Asterisk 22 when Hotline or Asterisk fails', () => {
  it('puts callers through to the default queue while Hotline is not running', async () => {
    lab = await realLab(bundle!);
    const call = await lab.caller.place();
    await lab.queueJoin(call.ivrId, 'support');
    await lab.answeredBy(call.ivrId, 'Local/205@phones');
    await call.hangup();
  }, 90_000);

  it('releases a caller to the default queue within 10 s when Hotline is killed mid-entry', async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const call = await lab.caller.place();
    await call.answered();
    await call.keys(ticket.ttn.slice(0, 3));
    for (const digit of ticket.ttn.slice(0, 3)) await lab.ami.waitFor((e) => e.Event === 'DTMFEnd' && e.Uniqueid === call.ivrId && e.Digit === digit && e.Direction === 'Received', `digit ${digit}`);
    const killedAt = performance.now();
    expect(await lab.serve.stop('SIGKILL')).toBe('SIGKILL');
    const joined = await lab.queueJoin(call.ivrId, 'support', 15_000);
    console.info(`[real Asterisk] caller of a killed Hotline in the default queue after ${((joined.at - killedAt) / 1000).toFixed(1)} s`);
    expect(joined.at - killedAt).toBeLessThan(10_000);
    await lab.answeredBy(call.ivrId, 'Local/205@phones');
    await call.hangup();
  }, 90_000);

  it.skipIf(!('dir' in disk))('puts a caller through to the owner with the disk full, and /healthz says why it is degraded', async () => {
    const small = disk as Extract<typeof disk, { dir: string }>;
    lab = await realLab(bundle!, { dataDir: `${small.dir}/data` });
    await lab.startHotline();
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    small.fill();
    try {
      await ownerAnswersAndHealthSays(lab, ticket.ttn, 'the disk full', /disk nearly full|a write failed/);
    } finally {
      small.free();
    }
  }, 150_000);

  it.skipIf('unavailable' in nobody)('puts a caller through to the owner with the database file read-only for the service, and /healthz says why it is degraded', async () => {
    lab = await realLab(bundle!);
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    // The service runs as an unprivileged user (root writes any file) for whom the file is read-only.
    lab.hotline.close();
    chmodSync(lab.dir, 0o711);
    execFileSync('chown', ['-R', 'nobody:nogroup', lab.dataDir]);
    chmodSync(lab.hotline.config.database, 0o444);
    await lab.startHotline(undefined, nobody as { uid: number; gid: number });
    await ownerAnswersAndHealthSays(lab, ticket.ttn, 'the database read-only', /read-only/);
  }, 150_000);

  it('puts a caller through to the owner while another process holds the database write lock, and /healthz says why it is degraded', async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    // As `hotline ingest`, the CLI or a backup would: the call's own records cannot be written meanwhile.
    const lock = await lockHolder(lab.hotline.config.database);
    try {
      await ownerAnswersAndHealthSays(lab, ticket.ttn, 'the database locked', /locked by another process|a write failed/);
    } finally {
      await lock.release();
    }
    await lab.healthz((h) => h.status === 'ok', 'healthz ok once the lock is gone', 90_000);
  }, 150_000);

  it('says degraded while Asterisk restarts, reconnects by itself, and routes the next call', async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
    await lab.asterisk.stop();
    const down = await lab.healthz((h) => h.status === 'degraded', 'healthz degraded with Asterisk down');
    expect(down.pbx).toMatchObject({ ari: expect.not.stringMatching(/^connected$/) });
    await lab.asterisk.start();
    await lab.reconnect();
    await lab.healthz((h) => h.status === 'ok', 'healthz ok once Asterisk is back', 60_000);
    const { alice } = lab.agents;
    const ticket = await lab.ticket(lab.queues.billing.id, alice);
    const call = await lab.caller.place();
    await call.answered();
    await call.keys(`${ticket.ttn}#`);
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    expect((await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).answeredBy).toBe(alice.id);
    await call.hangup();
  }, 120_000);

  it('after a graceful restart, open agent pages get pops again without a reload, and a caller in the IVR is put through at once', async () => {
    lab = await realLab(bundle!);
    const first = await lab.startHotline();
    const port = Number(new URL(first.url).port);
    const { alice } = lab.agents;
    const socketPage = await lab.agentSocket(alice, { reconnection: true });

    browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${first.url}/login`);
    await page.getByLabel('Login').fill('alice');
    await page.getByLabel('Password').fill('password123');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${first.url}/queues`);
    await page.waitForSelector('html[data-live="on"]', { timeout: 10_000 });

    // A caller still keying when the service stops.
    const waiting = await lab.caller.place();
    await waiting.answered();
    await waiting.keys('20');
    await lab.ami.waitFor((e) => e.Event === 'DTMFEnd' && e.Uniqueid === waiting.ivrId && e.Digit === '0' && e.Direction === 'Received', 'digits keyed');
    const stoppedAt = performance.now();
    expect(await first.stop('SIGTERM')).toBe(0);
    const joined = await lab.queueJoin(waiting.ivrId, 'support', 10_000);
    console.info(`[real Asterisk] caller in the IVR of a stopping Hotline in the default queue after ${((joined.at - stoppedAt) / 1000).toFixed(1)} s`);
    expect(joined.at - stoppedAt).toBeLessThan(3000);
    await page.waitForSelector('html[data-live="off"]', { timeout: 10_000 });
    expect(await page.locator('#live-status').textContent()).toContain('Live updates lost');

    await lab.startHotline(port);
    await page.waitForSelector('html[data-live="on"]', { timeout: 20_000 });
    expect(await page.locator('#live-status').textContent()).toContain('Live updates restored');
    await new Promise<void>((resolve) => (socketPage.socket.connected ? resolve() : socketPage.socket.once('connect', () => resolve())));

    const ticket = await lab.ticket(lab.queues.billing.id, alice, 'After the restart');
    const call = await lab.caller.place();
    await call.answered();
    await call.keys(`${ticket.ttn}#`);
    await socketPage.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
    await page.waitForSelector(`#pops .pop h2:text-is("Ticket#${ticket.ttn}")`, { timeout: 20_000 });
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    await Promise.all([call.hangup(), waiting.hangup()]);
  }, 120_000);
});
