// Work is never lost (#17 item 5): a form sent after the session ended, with an out-of-date token or
// with a mistake comes back filled in; the session cookie lasts as long as the session.
import { afterEach, describe, expect, it } from 'vitest';
import { loginFormToken, sessionCookie } from '../helpers/login.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness, pathOf } from '../helpers/web.js';
import { fixedClock } from '../helpers/hotline.js';

let w: WebHarness;
afterEach(async () => w.close());

const NOTE = 'Called the customer back:\nthe printer works again after a firmware update & a <reboot>.';
const unescape = (s: string) => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');

/** The fields of the first form posting to `action` on the page, as a browser would send them. */
function formFields(body: string, action: string): URLSearchParams {
  const form = new RegExp(`<form method="post" action="${action.replaceAll('/', '\\/')}"[^>]*>([\\s\\S]*?)</form>`).exec(body)?.[1];
  if (!form) throw new Error(`no form for ${action}`);
  const out = new URLSearchParams();
  for (const m of form.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) out.append(m[1]!, unescape(m[2]!));
  for (const m of form.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) out.append(m[1]!, unescape(m[2]!));
  return out;
}

describe('work kept', () => {
  it('keeps a note sent after the session ended in another tab: log in, and it comes back as typed, sent with one click', async () => {
    w = await webHarness();
    const ttn = w.tickets.support.ttn;
    const alice = await w.login('alice');
    // Another tab logs out: this tab's form still has the old session's token.
    await alice.post('/logout');
    const post = (payload: string, cookie: string, headers: Record<string, string> = {}) =>
      w.server.inject({ method: 'POST', url: `/tickets/${ttn}/notes`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers }, payload });
    const sent = await post(new URLSearchParams({ _csrf: alice.csrf, text: NOTE }).toString(), alice.cookie);
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('Your session had ended, so this was not saved yet.');
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).map((a) => a.kind)).toEqual(['email-in']);
    // The login page carries the form; logging in gives it back filled, with the new session's token.
    const login = formFields(sent.body, '/login');
    login.set('login', 'alice');
    login.set('password', 'alice-password');
    const { cookie: loginCookie } = loginFormToken(sent.body, sent.headers['set-cookie'] as string[]);
    const back = await w.server.inject({ method: 'POST', url: '/login', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: login.toString() });
    expect(back.statusCode).toBe(200);
    expect(back.body).toContain('You are logged in again.');
    const fields = formFields(back.body, `/tickets/${ttn}/notes`);
    expect(fields.get('text')).toBe(NOTE);
    const cookie = sessionCookie(back.headers['set-cookie'] as string[]);
    const saved = await post(fields.toString(), cookie);
    expect(saved.statusCode).toBe(303);
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).map((a) => [a.kind, a.text])).toEqual([['email-in', 'It smokes.'], ['note', NOTE]]);
  });

  it('gives a form back with a fresh token when it came from an earlier session, and with the error beside the field when it was wrong', async () => {
    w = await webHarness();
    const ttn = w.tickets.support.ttn;
    const old = await w.login('alice');
    await old.post('/logout');
    const alice = await w.login('alice');
    const post = (url: string, fields: URLSearchParams | Record<string, string>) =>
      // A text browser: no Sec-Fetch-Site, no Origin, but the page it came from.
      w.server.inject({ method: 'POST', url, headers: { cookie: alice.cookie, 'content-type': 'application/x-www-form-urlencoded', referer: `http://localhost:80/tickets/${ttn}` }, payload: new URLSearchParams(fields).toString() });
    const stale = await post(`/tickets/${ttn}/notes`, { _csrf: old.csrf, text: NOTE });
    expect(stale.statusCode).toBe(403);
    expect(stale.body).toContain('This form was from an earlier session');
    const again = formFields(stale.body, `/tickets/${ttn}/notes`);
    expect(again.get('_csrf')).toBe(alice.csrf);
    expect((await post(`/tickets/${ttn}/notes`, again)).statusCode).toBe(303);
    // A title too long: the change comes back, the title marked, everything typed still there.
    const long = 'x'.repeat(301);
    const wrong = await post(`/tickets/${ttn}/update`, { _csrf: alice.csrf, title: long, state: 'open', priority: '4', ownerId: '', queueId: String(w.queues.support.id) });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toMatch(new RegExp(`<input id="resubmit-\\d+" name="title" value="${long}" size="60" aria-invalid="true" aria-describedby="resubmit-error">`));
    expect(wrong.body).toContain('<span class="field-error" id="resubmit-error">Not saved: body.title: at most 300 characters</span>');
    expect(formFields(wrong.body, `/tickets/${ttn}/update`).get('priority')).toBe('4');
    expect((await w.hotline.tickets.findById(w.tickets.support.id))!.priority).toBe(3);
  });

  it('carries no form another site sent, and never writes a password back into a page', async () => {
    w = await webHarness();
    const ttn = w.tickets.support.ttn;
    const alice = await w.login('alice');
    await alice.post('/logout');
    for (const headers of [{ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, { referer: 'https://evil.example/form.html' }, {}]) {
      const forged = await w.server.inject({ method: 'POST', url: `/tickets/${ttn}/notes`, headers: { cookie: alice.cookie, ...headers }, payload: { text: 'Close all tickets' } });
      expect(forged.statusCode).toBe(303);
      expect(pathOf(forged.headers.location)).toBe('/login?next=%2Fqueues');
    }
    // Nor, with a session, one whose token is not this session's: the refusal, nothing to send again.
    const bob = await w.login('bob');
    const foreign = await w.server.inject({ method: 'POST', url: `/tickets/${ttn}/notes`, headers: { cookie: bob.cookie, 'sec-fetch-site': 'cross-site' }, payload: { text: 'Close all tickets', _csrf: 'x' } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).not.toContain('Close all tickets');
    const root = await w.login('root');
    await root.post('/logout');
    const reset = await w.server.inject({ method: 'POST', url: `/admin/agents/${w.agents.alice.id}/password`, headers: { cookie: root.cookie }, payload: { _csrf: root.csrf, password: 'new-secret-password' } });
    expect(reset.body).not.toContain('new-secret-password');
  });

  it('keeps an agent at work logged in: the cookie slides with the session', async () => {
    const clock = fixedClock('2026-12-05T08:00:00.000Z');
    w = await webHarness({ clock });
    const alice = await w.login('alice');
    const maxAge = (res: { headers: Record<string, unknown> }) => Number(/hotline_session=[^;]+;[^,]*Max-Age=(\d+)/.exec(String(res.headers['set-cookie']))?.[1]);
    clock.set('2026-12-05T19:00:00.000Z');
    const late = await alice.get('/queues');
    expect(late.statusCode).toBe(200);
    expect(maxAge(late)).toBe(12 * 3600);
    // 14 h after the login, with work in between: still in (the cookie used to end 12 h after the login).
    clock.set('2026-12-05T22:00:00.000Z');
    const later = await alice.get('/queues');
    expect(later.statusCode).toBe(200);
    expect(maxAge(later)).toBe(12 * 3600);
    // Within a minute the session is not extended again: the cookie says what is left.
    clock.set('2026-12-05T22:00:30.000Z');
    expect(maxAge(await alice.get('/queues'))).toBe(12 * 3600 - 30);
    // 12 h without any use: out.
    clock.set('2026-12-06T10:00:01.000Z');
    expect((await alice.get('/queues')).statusCode).toBe(303);
  });
});
