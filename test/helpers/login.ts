import type { LightMyRequestResponse } from 'fastify';

/** What a server answers in-process (`fastify.inject`). */
interface Injector {
  inject(options: { method?: 'GET' | 'POST'; url: string; payload?: Record<string, string>; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
}

/** The login form's token and its cookie, as a browser gets them by opening /login. */
export function loginFormToken(body: string, setCookie: string | string[] | null | undefined): { token: string; cookie: string } {
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  const cookie = /hotline_login=[^;]+/.exec(String(setCookie ?? ''))?.[0];
  if (!token || !cookie) throw new Error('the login page has no form token or cookie');
  return { token, cookie };
}

/** Logs in through the form as a browser does (the form's page first, for its token), in-process. */
export async function injectLogin(server: Injector, login: string, password: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const form = await server.inject({ method: 'GET', url: '/login', headers });
  const { token, cookie } = loginFormToken(form.body, form.headers['set-cookie'] as string | string[] | undefined);
  return server.inject({ method: 'POST', url: '/login', payload: { login, password, _csrf: token }, headers: { ...headers, cookie } });
}

/** Logs in through the form over HTTP; resolves with the answer (303 and the session cookie when right). */
export async function fetchLogin(base: string, login: string, password: string): Promise<Response> {
  const form = await fetch(`${base}/login`);
  const { token, cookie } = loginFormToken(await form.text(), form.headers.get('set-cookie'));
  return fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ login, password, _csrf: token }), headers: { cookie }, redirect: 'manual' });
}

/** The session cookie (`hotline_session=…`) a successful login set. */
export function sessionCookie(setCookie: string | string[] | null | undefined): string {
  const cookie = /hotline_session=[^;]+/.exec(String(setCookie ?? ''))?.[0];
  if (!cookie) throw new Error('no session cookie');
  return cookie;
}
