import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABSOLUTE_TIMEOUT, BROADCAST_CONTEXT, FAILOVER_CONTEXT, FAILOVER_WORKING_VARS, INSTANCES_GLOBALS, DEFAULT_QUEUE_GLOBAL, DIAL_CONTEXT, FALLBACK_CONTEXT, IVR_CONTEXT, OUTBOUND_CONTEXT_GLOBAL, ROUTE_CONTEXT, ROUTE_EXTENSIONS, STASIS_GUARD_RENEW_MS, STASIS_GUARD_SECONDS, STASIS_STATUS, VARS, VOICEMAIL_ARG } from '../../src/pbx/names.js';

const dialplan = readFileSync(new URL('../../dialplan/extensions.conf', import.meta.url), 'utf8');
const code = dialplan
  .split('\n')
  .map((line) => line.replace(/;.*$/, ''))
  .join('\n');

describe('dialplan/extensions.conf', () => {
  it('has the contexts and extensions the service continues into', () => {
    const contexts = [...code.matchAll(/^\[([\w-]+)\]/gm)].map((m) => m[1]);
    expect(contexts).toEqual(expect.arrayContaining([IVR_CONTEXT, ROUTE_CONTEXT, DIAL_CONTEXT, FALLBACK_CONTEXT]));
    const routeSection = code.slice(code.indexOf(`[${ROUTE_CONTEXT}]`));
    for (const exten of Object.values(ROUTE_EXTENSIONS)) expect(routeSection).toMatch(new RegExp(`^exten => ${exten},1,`, 'm'));
  });

  it('uses exactly the channel variables the service sets, and no other HOTLINE_ names', () => {
    const used = new Set([...code.matchAll(/\b(HOTLINE_[A-Z_]+)\b/g)].map((m) => m[1]));
    const known = new Set([...Object.values(VARS), DEFAULT_QUEUE_GLOBAL, OUTBOUND_CONTEXT_GLOBAL, ...Object.values(INSTANCES_GLOBALS), ...FAILOVER_WORKING_VARS]);
    expect([...used].filter((name) => !known.has(name as never))).toEqual([]);
    for (const name of [VARS.route, VARS.target, VARS.ringTimeout, VARS.queue, VARS.queueTarget, DEFAULT_QUEUE_GLOBAL]) expect(used).toContain(name);
  });

  it('offers a call to several instances with the same guard and fallbacks: broadcast, or each app in turn', () => {
    for (const context of [BROADCAST_CONTEXT, FAILOVER_CONTEXT]) {
      const start = code.indexOf(`[${context}]`);
      expect(start).toBeGreaterThan(0);
      const section = code.slice(start, code.indexOf('\n[', start + 1));
      const guard = section.indexOf(`Set(${ABSOLUTE_TIMEOUT}=${STASIS_GUARD_SECONDS})`);
      expect(guard).toBeGreaterThan(0);
      expect(guard).toBeLessThan(section.search(/Stasis(Broadcast)?\(/));
      expect(section).toContain(`Set(${ABSOLUTE_TIMEOUT}=0)`);
      expect(section).toContain(`"\${${VARS.route}}" = ""]?${FALLBACK_CONTEXT},s,1`);
      expect(section).toMatch(new RegExp(`^exten => T,1,[^\\n]*\\n same => n,Goto\\(${FALLBACK_CONTEXT},s,1\\)`, 'm'));
    }
    expect(code).toContain(`StasisBroadcast(\${IF($["\${${INSTANCES_GLOBALS.claimMs}}" = ""]?500:`);
    expect(code).toContain(`\${CUT(${INSTANCES_GLOBALS.failoverApps},&,`);
  });

  it('runs Stasis for the default app and falls back on STASISSTATUS=FAILED and on a missing route', () => {
    expect(code).toMatch(/Stasis\(hotline\)/);
    expect(code).toContain(`"\${${STASIS_STATUS}}" = "FAILED"]?${FALLBACK_CONTEXT},s,1`);
    expect(code).toContain(`"\${${VARS.route}}" = ""]?${FALLBACK_CONTEXT},s,1`);
    const fallback = code.slice(code.indexOf(`[${FALLBACK_CONTEXT}]`));
    expect(fallback).toMatch(/^ same => n,Queue\(\$\{IF\(\$\["\$\{HOTLINE_DEFAULT_QUEUE\}" = ""\]\?support:\$\{HOTLINE_DEFAULT_QUEUE\}\)\}\)$/m);
  });

  it('bounds the stay in Stasis with the absolute timeout the service renews, and clears it once the call is handed on', () => {
    const ivr = code.slice(code.indexOf(`[${IVR_CONTEXT}]`), code.indexOf(`[${FALLBACK_CONTEXT}]`));
    const guard = ivr.indexOf(`Set(${ABSOLUTE_TIMEOUT}=${STASIS_GUARD_SECONDS})`);
    expect(guard).toBeGreaterThan(0);
    expect(guard).toBeLessThan(ivr.indexOf('Stasis(hotline)'));
    expect(ivr).toMatch(new RegExp(`^exten => T,1,[^\\n]*\\n same => n,Goto\\(${FALLBACK_CONTEXT},s,1\\)`, 'm'));
    // Renewed often enough that one late renewal does not cut a healthy IVR short.
    expect(STASIS_GUARD_RENEW_MS * 2).toBeLessThan(STASIS_GUARD_SECONDS * 1000);
    for (const context of [ROUTE_CONTEXT, FALLBACK_CONTEXT]) {
      const section = code.slice(code.indexOf(`[${context}]`));
      for (const exten of context === ROUTE_CONTEXT ? [ROUTE_EXTENSIONS.agent, ROUTE_EXTENSIONS.queue] : ['s']) {
        expect(section).toMatch(new RegExp(`^exten => ${exten},1,Set\\(TIMEOUT\\(absolute\\)=0\\)$`, 'm'));
      }
    }
  });

  it('takes a message back in Hotline\'s app under the same guard, and reaches the default queue without it', () => {
    const route = code.slice(code.indexOf(`[${ROUTE_CONTEXT}]`), code.indexOf('\n[', code.indexOf(`[${ROUTE_CONTEXT}]`) + 1));
    const voicemail = route.slice(route.indexOf(`exten => ${ROUTE_EXTENSIONS.voicemail},1,`));
    expect(voicemail).toMatch(new RegExp(`^exten => ${ROUTE_EXTENSIONS.voicemail},1,Set\\(${ABSOLUTE_TIMEOUT.replace(/[()]/g, '\\$&')}=${STASIS_GUARD_SECONDS}\\)\\n same => n,Stasis\\(\\$\\{${VARS.voicemailApp}\\},${VOICEMAIL_ARG}\\)\\n same => n,Set\\(TIMEOUT\\(absolute\\)=0\\)\\n same => n,Goto\\(${FALLBACK_CONTEXT},s,1\\)`));
    expect(route).toMatch(new RegExp(`^exten => T,1,[^\\n]*\\n same => n,Goto\\(${FALLBACK_CONTEXT},s,1\\)`, 'm'));
    // Only when nobody answered within the queue's time, and only with an app to take the message.
    expect(route).toContain(`Queue(\${${VARS.queue}},,,,\${${VARS.queueTimeout}})`);
    expect(route).toContain(`"\${QUEUESTATUS}" = "TIMEOUT" & "\${${VARS.voicemailApp}}" != ""]?${ROUTE_EXTENSIONS.voicemail},1`);
  });

  it('sets no [globals] (a later include would override the site\'s own) and sends click-to-dial to the site\'s outbound context', () => {
    expect(code).not.toMatch(/^\[globals\]/m);
    expect(code).not.toContain('from-internal');
    expect(code).toContain(`Goto(\${${OUTBOUND_CONTEXT_GLOBAL}},\${EXTEN},1)`);
    const readme = readFileSync(new URL('../../dialplan/README.md', import.meta.url), 'utf8');
    // The README and the file's header give the same include instructions and name both globals.
    expect(readme).toContain('#include hotline/extensions.conf');
    expect(dialplan).toContain('#include hotline/extensions.conf');
    for (const name of [DEFAULT_QUEUE_GLOBAL, OUTBOUND_CONTEXT_GLOBAL]) expect(readme).toContain(name);
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
