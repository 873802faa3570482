// Agents' self-service (#18 item 5): away or available (routing follows at once), their own password.
import { afterEach, describe, expect, it } from 'vitest';
import { injectLogin } from '../helpers/login.js';
import type { WebHarness } from '../helpers/web.js';
import { pathOf, webHarness } from '../helpers/web.js';

let w: WebHarness;
afterEach(async () => w.close());

describe('my settings', () => {
  it('sets me away and back, as routing reads it', async () => {
    w = await webHarness();
    const alice = await w.login('alice');
    const away = await alice.post('/settings/away', { away: '1' });
    expect(pathOf(away.headers.location)).toBe('/settings?done=now-away');
    expect((await w.hotline.agents.findById(w.agents.alice.id))!.away).toBe(true);
    expect((await alice.get('/settings')).body).toContain('You are <strong>away</strong>');
    await alice.post('/settings/away', { away: '0' });
    expect((await w.hotline.agents.findById(w.agents.alice.id))!.away).toBe(false);
  });

  it('changes my password with the current one: other sessions end, this one goes on', async () => {
    w = await webHarness({ config: { loginFirstWaitSeconds: 600 } });
    const alice = await w.login('alice');
    const other = await w.login('alice');
    const wrong = await alice.post('/settings/password', { current: 'nope', password: 'a-new-password', repeat: 'a-new-password' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('current: that is not your current password');
    expect((await alice.post('/settings/password', { current: 'alice-password', password: 'a-new-password', repeat: 'another' })).statusCode).toBe(400);
    const changed = await alice.post('/settings/password', { current: 'alice-password', password: 'a-new-password', repeat: 'a-new-password' });
    expect(pathOf(changed.headers.location)).toBe('/settings?done=password-changed');
    const cookie = /hotline_session=[^;]+/.exec(String(changed.headers['set-cookie']))![0];
    expect((await w.server.inject({ url: '/queues', headers: { cookie } })).statusCode).toBe(200);
    expect((await other.get('/queues')).statusCode).toBe(303);
    expect((await injectLogin(w.server, 'alice', 'alice-password')).statusCode).toBe(401);
    expect((await injectLogin(w.server, 'alice', 'a-new-password')).statusCode).toBe(303);
  });

  it('limits guessing the current password as logins are limited', async () => {
    w = await webHarness({ config: { loginFirstWaitSeconds: 600 } });
    const alice = await w.login('alice');
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await alice.post('/settings/password', { current: `guess${i}`, password: 'a-new-password', repeat: 'a-new-password' })).body.includes('Too many failed logins'));
    expect(statuses).toEqual([false, false, false, false, false, true, true]);
  });
});
