import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';
import { dateStamp } from '../../src/core/ttn/generator.js';
import { isValidTtn } from '../../src/core/ttn/ttn-text.js';
import { tempDir } from '../helpers/hotline.js';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { BIN, deadPort, startServe } from '../helpers/serve.js';

const exec = promisify(execFile);
const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** Runs the real `hotline` binary in a fresh folder; never rejects, returns code and output. */
async function hotline(dir: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function freshDir(): string {
  const { dir, cleanup } = tempDir('hotline-cli-');
  cleanups.push(cleanup);
  return dir;
}

describe('hotline CLI', () => {
  it('ticket create prints today\'s valid 14-digit TTN that ticket show finds', async () => {
    const dir = freshDir();
    const created = await hotline(dir, ['ticket', 'create', '--title', 'Printer on fire', '--text', 'It smokes.', '--customer-phone', '0171 2345678']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const ttn = created.stdout.trim();
    expect(ttn).toMatch(/^\d{14}$/);
    // The day in the default time zone (config timeZone).
    expect(ttn.slice(0, 8)).toBe(dateStamp(new Date(), 'Europe/Berlin'));
    expect(isValidTtn(ttn)).toBe(true);

    const shown = await hotline(dir, ['ticket', 'show', ttn]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`Ticket#${ttn}  Printer on fire`);
    expect(shown.stdout).toContain('It smokes.');
    expect(shown.stdout).toContain('+491712345678');
  });

  it('says clearly what is wrong with a bad TTN, an unknown ticket, an unknown queue and a bad setting', async () => {
    const dir = freshDir();
    const ttn = (await hotline(dir, ['ticket', 'create', '--title', 'x'])).stdout.trim();
    const wrongDigit = ttn.slice(0, -1) + String((Number(ttn.at(-1)) + 1) % 10);
    const unknown = `2000010100001${luhnCheckDigit.compute('2000010100001')}`;
    // Each a process of its own, all at once: none of them changes anything.
    const [badDigit, noTicket, notDigits, noQueue, badSetting, noTitle] = await Promise.all([
      hotline(dir, ['ticket', 'show', wrongDigit]),
      hotline(dir, ['ticket', 'show', unknown]),
      hotline(dir, ['ticket', 'show', 'abc']),
      hotline(dir, ['ticket', 'create', '--title', 'x', '--queue', 'Nope']),
      hotline(dir, ['ticket', 'show', ttn], { HOTLINE_HTTP_PORT: '99999' }),
      hotline(dir, ['ticket', 'create']),
    ]);
    expect(badDigit).toMatchObject({ code: 1, stderr: expect.stringMatching(/not a valid ticket number \(wrong check digit/) });
    expect(noTicket).toMatchObject({ code: 1, stderr: expect.stringContaining(`no ticket ${unknown}`) });
    expect(notDigits).toMatchObject({ code: 1, stderr: expect.stringMatching(/not a ticket number/) });
    expect(noQueue).toMatchObject({ code: 1, stderr: expect.stringMatching(/no queue named "Nope"/) });
    expect(badSetting).toMatchObject({ code: 1, stderr: expect.stringMatching(/httpPort \(from HOTLINE_HTTP_PORT\)/) });
    expect(noTitle).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --title/) });
  });

  it('bootstraps queues and agents an admin would script', async () => {
    const dir = freshDir();
    expect((await hotline(dir, ['queue', 'add', '--name', 'Billing', '--email', 'billing@example.com', '--extension', 'Local/billing@hotline-queues', '--asterisk-queue', 'billing'])).stdout).toMatch(/queue Billing created \(id 1\), default/);
    const agent = await hotline(dir, ['agent', 'add', '--login', 'bob', '--name', 'Bob', '--dial', 'PJSIP/202', '--queue', 'Billing:ro']);
    expect(agent.stdout).toMatch(/agent bob created \(id \d+\), password \S{16} \(shown once\)/);
    expect(await hotline(dir, ['agent', 'add', '--login', 'bob', '--name', 'Bob'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/login "bob" is taken/) });
    const ttn = (await hotline(dir, ['ticket', 'create', '--title', 'Invoice', '--queue', 'Billing'])).stdout.trim();
    expect((await hotline(dir, ['ticket', 'show', ttn])).stdout).toContain('queue Billing');
  });

  it('creates an admin without --login as documented, and resets a password', async () => {
    const dir = freshDir();
    expect((await hotline(dir, ['admin', 'create'])).stdout).toMatch(/^admin created: login admin, password \S{16} \(shown once\)/);
    // "admin" is taken now (as after the first start): the next one is admin2, not an error.
    expect((await hotline(dir, ['admin', 'create'])).stdout).toMatch(/^admin created: login admin2,/);
    const setup = await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { logLevel: 'silent' } }));
    await setup.agents.create({ login: 'bob', name: 'Bob', role: 'agent', password: 'bob-password' });
    setup.close();
    const reset = await hotline(dir, ['admin', 'reset-password', '--login', 'bob', '--password', 'bobs-new-password']);
    expect(reset).toMatchObject({ code: 0, stdout: "password of bob changed; the agent's sessions have ended\n" });
    const check = await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { logLevel: 'silent' } }));
    expect(await check.agents.authenticate('bob', 'bobs-new-password')).toMatchObject({ login: 'bob' });
    check.close();
    expect((await hotline(dir, ['admin', 'reset-password', '--login', 'nobody'])).stderr).toContain('no agent with login nobody');
  });

  it('gives a ticket an owner who may see its queue, or nobody', async () => {
    const dir = freshDir();
    // Set up in-process on the folder the CLI uses (./data): only the command under test runs as a process.
    const setup = await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { logLevel: 'silent' } }));
    const queue = await setup.directory.createQueue({ name: 'Billing' });
    const other = await setup.directory.createQueue({ name: 'Support' });
    const { agent: bob } = await setup.agents.create({ login: 'bob', name: 'Bob', role: 'agent', password: 'bob-password' });
    await setup.directory.setAccess(bob.id, queue.id, 'rw');
    const billing = (await setup.tickets.create({ queueId: queue.id, title: 'Invoice', article: { kind: 'note', text: '' } })).ticket.ttn;
    const support = (await setup.tickets.create({ queueId: other.id, title: 'Printer', article: { kind: 'note', text: '' } })).ticket.ttn;
    setup.close();
    expect((await hotline(dir, ['ticket', 'owner', billing, '--login', 'bob'])).stdout).toBe(`ticket ${billing}: owner bob\n`);
    expect((await hotline(dir, ['ticket', 'show', billing])).stdout).toContain('owner bob');
    // Bob cannot see Support: not his.
    expect(await hotline(dir, ['ticket', 'owner', support, '--login', 'bob'])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot see queue "Support"') });
    expect((await hotline(dir, ['ticket', 'owner', billing, '--none'])).stdout).toBe(`ticket ${billing}: nobody owns it now\n`);
    expect((await hotline(dir, ['ticket', 'owner', billing])).code).toBe(2);
  });

  it('loads a site TTN generator module, and refuses to start with a broken one', async () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'site-ttn.js'),
      `export default { name: 'site', length: () => 8, async next(ctx) { const n = await ctx.nextCounter('site'); const p = '4242' + String(n).padStart(3, '0'); return p + ctx.checkDigit.compute(p); } };`,
    );
    writeFileSync(join(dir, 'broken-ttn.js'), `export default { name: 'broken' };`);
    const env = { HOTLINE_TTN_GENERATOR_MODULE: 'site-ttn.js' };
    await hotline(dir, ['ticket', 'create', '--title', 'x'], env);
    const db = join(dir, 'data', 'hotline.db');
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(db);
    raw.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('ttn', ?)").run(JSON.stringify({ generator: 'site' }));
    raw.close();
    const ttn = (await hotline(dir, ['ticket', 'create', '--title', 'y'], env)).stdout.trim();
    expect(ttn).toMatch(/^4242001\d$/);
    expect(isValidTtn(ttn)).toBe(true);

    const broken = await hotline(dir, ['ticket', 'create', '--title', 'z'], { HOTLINE_TTN_GENERATOR_MODULE: 'broken-ttn.js' });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken-ttn\.js is not usable: "next\(ctx\)" must be a function/);
    const missing = await hotline(dir, ['ticket', 'create', '--title', 'z'], { HOTLINE_TTN_GENERATOR_MODULE: 'nope.js' });
    expect(missing.stderr).toMatch(/nope\.js does not exist/);
  });
});

describe('hotline serve', () => {
  it('starts on an empty folder, creates the admin once, answers /healthz and stops on SIGTERM', async () => {
    const dir = freshDir();
    const pbx = await deadPort();
    cleanups.push(() => void pbx.close());
    // ARI and AMI at a port of this test's that refuses them: never an Asterisk that happens to run here.
    const serve = await startServe(dir, { HOTLINE_ARI_URL: `http://127.0.0.1:${pbx.port}`, HOTLINE_AMI_PORT: String(pbx.port) });
    cleanups.push(() => void serve.stop('SIGKILL'));
    await serve.waitForOutput(/created admin login "admin" with password "\S+"/);
    const health = await fetch(`${serve.url}/healthz`);
    expect(health.status).toBe(200);
    // No Asterisk: the service runs, says the PBX is away, and keeps retrying.
    expect(await health.json()).toMatchObject({ status: 'degraded', db: 'ok', pbx: { ari: expect.not.stringMatching(/^connected$/), ami: expect.not.stringMatching(/^connected$/) } });
    expect(await serve.stop('SIGTERM')).toBe(0);
    const again = await hotline(dir, ['ticket', 'create', '--title', 'after restart']);
    expect(again.code).toBe(0);
    // The data is the service user's own: the folder can be entered (Asterisk plays the prompts in
    // it) but not listed, and the database is readable by nobody else.
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o711);
    expect(statSync(join(dir, 'data', 'hotline.db')).mode & 0o777).toBe(0o600);
  });

  it('stops with a clear message and exit 1 when its web or SMTP port is taken, instead of running half-started', async () => {
    const dir = freshDir();
    const pbx = await deadPort();
    const taken = await deadPort();
    cleanups.push(() => void pbx.close(), () => void taken.close());
    const env = { PATH: process.env.PATH!, HOTLINE_ARI_URL: `http://127.0.0.1:${pbx.port}`, HOTLINE_AMI_PORT: String(pbx.port), HOTLINE_LOG_LEVEL: 'warn' };
    const web = await hotline(dir, ['serve'], { ...env, HOTLINE_HTTP_PORT: String(taken.port), HOTLINE_SMTP_PORT: '0' });
    expect(web.code).toBe(1);
    expect(web.stderr).toContain(`hotline: cannot start the web UI on 127.0.0.1:${taken.port}: the port is already in use (is another Hotline running?); choose another with httpHost / httpPort`);
    const smtp = await hotline(dir, ['serve'], { ...env, HOTLINE_HTTP_PORT: '0', HOTLINE_SMTP_PORT: String(taken.port) });
    expect(smtp.code).toBe(1);
    expect(smtp.stderr).toContain(`cannot start the SMTP listener on 127.0.0.1:${taken.port}: the port is already in use`);
  });
});
