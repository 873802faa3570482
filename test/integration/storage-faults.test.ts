import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPromptStore } from '../../src/prompts/prompt-store.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { lockHolder, smallFileSystem, unprivilegedUser } from '../helpers/faults.js';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';
import { startServe } from '../helpers/serve.js';
import { mistyped } from '../helpers/ttn.js';

// Each test's run copies the shipped prompts (about 2 MB) and opens a database before the disk is filled.
const fs = smallFileSystem(16 * 1024);
if ('unavailable' in fs) console.warn(`storage-faults: ${fs.unavailable}; the full-disk tests are skipped`);
const disk = 'dir' in fs ? fs : null;

afterAll(() => disk?.dispose());

let h: PbxHarness | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

/** A caller keys `ttn`: the owner's phone answers, less than 2 s after the last key. */
async function ownerAnswersWithin2s(harness: PbxHarness, ttn: string) {
  const call = harness.fake.placeCall({ number: '0301234567' });
  await call.waitFor('stasis-start');
  await call.press(`${ttn}#`);
  await call.waitFor('answered Local/201@phones');
  console.info(`[fault] ${expect.getState().currentTestName}: last key to hand-off ${call.handOffMs()?.toFixed(0)} ms`);
  expect(call.handOffMs()).toBeLessThan(2000);
  return call;
}

let runs = 0;
/** A data folder of its own on the small file system, for each test. */
const onDisk = () => `${disk!.dir}/run-${++runs}`;

describe.skipIf(!disk)('a full disk', () => {
  it('starts with the prompts that fit: none copied half, the rest named, Asterisk\'s own sounds for them', async () => {
    const dir = onDisk();
    mkdirSync(dir, { recursive: true });
    disk!.fill();
    cleanups.push(() => disk!.free());
    const store = createPromptStore({ dir });
    const failed = store.install();
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.error).toMatch(/ENOSPC|no space/i);
    // Whatever is there is whole; no temporary file is left behind.
    const shipped = fileURLToPath(new URL('../../ivr-prompts/', import.meta.url));
    for (const lang of readdirSync(dir)) {
      for (const name of readdirSync(join(dir, lang))) {
        expect(name.startsWith('.')).toBe(false);
        expect(readFileSync(join(dir, lang, name)).equals(readFileSync(join(shipped, lang, name)))).toBe(true);
      }
    }
    disk!.free();
    expect(store.install()).toEqual([]);
  });

  it('never hands back a call record whose commit failed', async () => {
    h = await pbxHarness({ config: { dataDir: onDisk() } });
    disk!.fill();
    cleanups.push(() => disk!.free());
    const channelId = 'never-stored';
    await expect(h.hotline.calls.started({ channelId, callerNumber: '0301234567', callerName: null, language: 'en' })).rejects.toThrow(/SQLITE_FULL|full/i);
    expect(await h.hotline.calls.findByChannel(channelId)).toBeNull();
  });

  it('still puts callers through within 2 s — to the owner by the ticket they key, else the default queue — and /healthz says why it is degraded', async () => {
    h = await pbxHarness({ config: { dataDir: onDisk() } });
    const server = await buildServer(h.hotline, { pbx: h.pbx });
    cleanups.push(() => server.close());
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    disk!.fill();
    cleanups.push(() => disk!.free());

    await ownerAnswersWithin2s(h, ticket.ttn);

    const wrong = h.fake.placeCall({ number: '0301234567' });
    await wrong.waitFor('stasis-start');
    for (let i = 1; i <= 3; i++) {
      await wrong.press(`${mistyped(ticket.ttn)}#`);
      if (i < 3) await expect.poll(() => wrong.played.filter((m) => m.endsWith('/invalid-ttn')).length).toBe(i);
    }
    await wrong.waitFor('queue support');
    expect(wrong.vars.get('HOTLINE_UNVERIFIED')).toBe('1');

    const health = (await server.inject('/healthz')).json() as { status: string; reasons: string[] };
    expect(health.status).toBe('degraded');
    expect(health.reasons.join(' ')).toMatch(/database: (disk nearly full|a write failed)/);

    // Space again: the next call is recorded as before.
    disk!.free();
    const next = h.fake.placeCall({ number: '0301234567' });
    await next.waitFor('stasis-start');
    await next.press(`${ticket.ttn}#`);
    await next.waitFor('answered Local/201@phones');
    expect((await h.callRecord(next.id, (c) => c.answeredBy !== null)).ticketId).toBe(ticket.id);
  });
});

const nobody = unprivilegedUser();
if ('unavailable' in nobody) console.warn(`storage-faults: ${nobody.unavailable}; the read-only database test is skipped`);

describe.skipIf('unavailable' in nobody)('a database file the service may not write', () => {
  it('still puts callers through within 2 s, and /healthz says the database is read-only', async () => {
    h = await pbxHarness();
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    // No admin yet: the first start cannot create one, and must take calls all the same.
    await h.stopPbx();
    // The service runs as an unprivileged user (root writes any file) for whom the file is read-only.
    h.hotline.close();
    const dir = h.hotline.dir;
    execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    chmodSync(h.hotline.config.database, 0o444);
    const serve = await startServe(dir, { HOTLINE_DATA_DIR: dir, HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort), HOTLINE_SMTP_ENABLED: 'false' }, 30_000, nobody as { uid: number; gid: number });
    cleanups.push(() => void serve.stop('SIGKILL'));
    await h.fake.waitForApp('hotline', true);

    await ownerAnswersWithin2s(h, ticket.ttn);
    const wrong = h.fake.placeCall({ number: '0301234567' });
    await wrong.waitFor('stasis-start');
    await wrong.press('0#');
    await wrong.waitFor('queue support');

    const health = (await (await fetch(`${serve.url}/healthz`)).json()) as { status: string; reasons: string[] };
    expect(health.status).toBe('degraded');
    expect(health.reasons).toContain('database: read-only: the service may not write the database file');
  });
});

describe('another process holding the write lock', () => {
  it('delays neither the callers nor /healthz, which says the database is locked', async () => {
    h = await pbxHarness({ busyTimeoutMs: 50 });
    const server = await buildServer(h.hotline, { pbx: h.pbx });
    cleanups.push(() => server.close());
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const lock = await lockHolder(h.hotline.config.database);
    cleanups.push(() => lock.release());

    // Three callers at once, each to the owner within 2 s of their last key.
    await Promise.all([0, 1, 2].map(() => ownerAnswersWithin2s(h!, ticket.ttn)));

    const asked = performance.now();
    const health = (await server.inject('/healthz')).json() as { status: string; reasons: string[] };
    console.info(`[fault] locked database: /healthz answered in ${(performance.now() - asked).toFixed(0)} ms`);
    expect(performance.now() - asked).toBeLessThan(1000);
    expect(health).toMatchObject({ status: 'degraded', reasons: expect.arrayContaining(['database: locked by another process']) });

    await lock.release();
    // Writes resume once the lock is gone (after a moment of failing fast): calls are recorded again.
    await expect
      .poll(async () => {
        const next = h!.fake.placeCall({ number: '0301234567' });
        await next.waitFor('stasis-start');
        await next.press(`${ticket.ttn}#`);
        await next.waitFor('answered Local/201@phones');
        next.hangup();
        return (await h!.hotline.calls.findByChannel(next.id))?.ticketId;
      })
      .toBe(ticket.id);
    expect(((await server.inject('/healthz')).json() as { status: string }).status).toBe('ok');
  });
});
