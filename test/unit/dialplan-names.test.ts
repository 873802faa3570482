import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_GLOBAL, DIAL_CONTEXT, IVR_CONTEXT, OUTBOUND_CONTEXT_GLOBAL, ROUTE_CONTEXT, ROUTE_EXTENSIONS, STASIS_STATUS, VARS } from '../../src/pbx/names.js';

const dialplan = readFileSync(new URL('../../dialplan/extensions.conf', import.meta.url), 'utf8');
const code = dialplan
  .split('\n')
  .map((line) => line.replace(/;.*$/, ''))
  .join('\n');

describe('dialplan/extensions.conf', () => {
  it('has the contexts and extensions the service continues into', () => {
    const contexts = [...code.matchAll(/^\[([\w-]+)\]/gm)].map((m) => m[1]);
    expect(contexts).toEqual(expect.arrayContaining([IVR_CONTEXT, ROUTE_CONTEXT, DIAL_CONTEXT]));
    const routeSection = code.slice(code.indexOf(`[${ROUTE_CONTEXT}]`));
    for (const exten of Object.values(ROUTE_EXTENSIONS)) expect(routeSection).toMatch(new RegExp(`^exten => ${exten},1,`, 'm'));
  });

  it('uses exactly the channel variables the service sets, and no other HOTLINE_ names', () => {
    const used = new Set([...code.matchAll(/\b(HOTLINE_[A-Z_]+)\b/g)].map((m) => m[1]));
    const known = new Set([...Object.values(VARS), DEFAULT_QUEUE_GLOBAL, OUTBOUND_CONTEXT_GLOBAL]);
    expect([...used].filter((name) => !known.has(name as never))).toEqual([]);
    for (const name of [VARS.route, VARS.target, VARS.ringTimeout, VARS.queue, VARS.queueTarget, DEFAULT_QUEUE_GLOBAL]) expect(used).toContain(name);
  });

  it('runs Stasis for the default app and falls back on STASISSTATUS=FAILED and on a missing route', () => {
    expect(code).toMatch(/Stasis\(hotline\)/);
    expect(code).toContain(`"\${${STASIS_STATUS}}" = "FAILED"`);
    expect(code).toContain(`"\${${VARS.route}}" = ""`);
    expect(code).toMatch(/\(fallback\),[^\n]*\n[^\n]*\n same => n,Queue\(\$\{HOTLINE_DEFAULT_QUEUE\}\)/);
  });

  it('binds the sample ARI and AMI configs to loopback', () => {
    const http = readFileSync(new URL('../../dialplan/http.conf', import.meta.url), 'utf8');
    const manager = readFileSync(new URL('../../dialplan/manager.conf', import.meta.url), 'utf8');
    expect(http).toMatch(/^bindaddr = 127\.0\.0\.1$/m);
    expect(manager).toMatch(/^bindaddr = 127\.0\.0\.1$/m);
    expect(manager).toMatch(/^permit = 127\.0\.0\.1\/255\.255\.255\.255$/m);
    expect(manager).not.toMatch(/^(read|write) = all$/m);
  });
});
