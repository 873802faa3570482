import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatOpenHours, parseHolidays, parseOpenHours } from '../core/hours.js';
import type { Hotline } from '../app.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Access, Agent, Role } from '../core/types.js';
import { localeOf, zoneChoices } from './locale.js';
import { requireAdmin } from './auth.js';
import { field, page } from './page-helpers.js';
import { ADMIN_PAGE_SIZE, numberedPage } from './paging.js';
import type { Views } from './views.js';
import type { WebMail } from './ports.js';
import type { GuessingStatus } from '../pbx/guess-limits.js';
import { loadSecuritySettings, parseDialPatterns, saveSecuritySettings } from '../core/security-settings.js';
import type { z } from 'zod';
import type { Language } from '../i18n/i18n.js';
import { AgentForm, TextForm, TextsQuery, CannedForm, ClearLoginForm, CustomerForm, CustomerLanguageForm, CustomerQuery, EmptyForm, IdParams, LanguageForm, ListPageQuery, NewAgentForm, PageQuery, PasswordForm, PermissionsForm, PromptFileParams, PromptParams, QueueForm, SecurityForm, TokenForm, TokenParams, TtnForm, UploadQuery } from './schemas.js';

/** What the admin overview shows about the connections. */
export type StatusProvider = () => Promise<{ db: string; ari: string; ami: string; activeIvrCalls: number | string; mail: string; limitedCallers?: number; pops?: string }>;

const optional = (v: string) => (v === '' ? null : v);
const numericId = (raw: string): number => {
  if (!/^\d+$/.test(raw)) throw new NotFoundError('no such record');
  return Number(raw);
};

/** What the admin pages use of the core. */
export type AdminServices = Pick<Hotline, 'agents' | 'auth' | 'directory' | 'cannedAnswers' | 'clock' | 'config' | 'i18n' | 'leases' | 'markSettingsChanged' | 'prompts' | 'reloadTexts' | 'settings' | 'texts' | 'ttn'>;

/** Agents, queues (and the queue → extension map), permissions, customers, TTN settings, status. */
export async function adminPages(app: FastifyInstance, opts: { hotline: AdminServices; views: Views; status: StatusProvider; guessing?: () => Promise<GuessingStatus | undefined>; mail?: WebMail; settingsChanged?: () => Promise<void> }): Promise<void> {
  const { hotline, views } = opts;
  const { agents, directory, auth } = hotline;
  /** An agent's page, with what was just made for them (a password, a token) shown once. */
  const agentPage = async (request: FastifyRequest, reply: FastifyReply, agent: Agent, secret?: string) => {
    const locale = localeOf(request);
    return page(views, request, reply, 'admin/agent', { title: locale.t('admin.agent.title', { login: agent.login }), agent, tokens: await auth.apiTokens(agent.id), secret, ...zoneChoices(hotline, locale) });
  };

  app.get('/admin', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    // The instances alive on this database (their `instance:` leases) and the background work each holds.
    const leases = await hotline.leases.live('', hotline.clock.now().getTime());
    const instances = leases
      .filter((l) => l.name.startsWith('instance:'))
      .map((l) => ({ id: l.holder, self: l.holder === hotline.config.instanceId, work: leases.filter((w) => !w.name.startsWith('instance:') && w.holder === l.holder).map((w) => w.name) }));
    return page(views, request, reply, 'admin/index', { title: localeOf(request).t('admin.title'), status: await opts.status(), instances });
  });

  app.get('/admin/agents', { schema: { querystring: ListPageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const all = await agents.list();
    const pager = numberedPage((request.query as { page?: string }).page, all.length);
    const locale = localeOf(request);
    return page(views, request, reply, 'admin/agents', { title: locale.t('admin.agents.title'), pager, agents: all.slice(pager.offset, pager.offset + ADMIN_PAGE_SIZE), ...zoneChoices(hotline, locale) });
  });

  app.post('/admin/agents', { schema: { body: NewAgentForm } }, async (request, reply) => {
    requireAdmin(request);
    const b = request.body;
    const password = field(b, 'password');
    const { agent, password: shown } = await agents.create({
      login: field(b, 'login'),
      name: field(b, 'name'),
      email: optional(field(b, 'email')),
      role: (field(b, 'role') || 'agent') as Role,
      dialString: optional(field(b, 'dialString')),
      deviceInterface: optional(field(b, 'deviceInterface')),
      language: field(b, 'language') || 'en',
      password: password || undefined,
    });
    const { t } = localeOf(request);
    return agentPage(request, reply, agent, password ? t('admin.agents.created', { login: agent.login }) : t('admin.agents.createdWithPassword', { login: agent.login, password: shown }));
  });

  app.get<{ Params: { id: string } }>('/admin/agents/:id', { schema: { params: IdParams, querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const agent = await agents.findById(numericId(request.params.id));
    if (!agent) throw new NotFoundError('no such agent');
    return agentPage(request, reply, agent);
  });

  app.post<{ Params: { id: string } }>('/admin/agents/:id', { schema: { params: IdParams, body: AgentForm } }, async (request, reply) => {
    const me = requireAdmin(request);
    const id = numericId(request.params.id);
    const b = request.body;
    const active = field(b, 'active') === '1';
    const role = (field(b, 'role') || 'agent') as Role;
    if (id === me.id && (!active || role !== 'admin')) throw new ValidationError('you cannot deactivate yourself or take away your own admin role');
    await agents.update(id, {
      name: field(b, 'name'),
      email: optional(field(b, 'email')),
      role,
      dialString: optional(field(b, 'dialString')),
      deviceInterface: optional(field(b, 'deviceInterface')),
      language: field(b, 'language') || 'en',
      timeZone: field(b, 'timeZone') || null,
      active,
      away: field(b, 'away') === '1',
    });
    if (!active) await auth.endSessions(id);
    return reply.redirect(`/admin/agents/${id}?done=agent-saved`, 303);
  });

  app.post<{ Params: { id: string } }>('/admin/agents/:id/password', { schema: { params: IdParams, body: PasswordForm } }, async (request, reply) => {
    requireAdmin(request);
    const agent = await agents.findById(numericId(request.params.id));
    if (!agent) throw new NotFoundError('no such agent');
    const { generatePassword } = await import('../core/password.js');
    const password = field(request.body, 'password') || generatePassword();
    await agents.setPassword(agent.id, password);
    await auth.endSessions(agent.id);
    const { t } = localeOf(request);
    return agentPage(request, reply, agent, field(request.body, 'password') ? t('admin.agents.passwordChanged') : t('admin.agents.newPassword', { login: agent.login, password }));
  });

  app.post<{ Params: { id: string } }>('/admin/agents/:id/tokens', { schema: { params: IdParams, body: TokenForm } }, async (request, reply) => {
    requireAdmin(request);
    const agent = await agents.findById(numericId(request.params.id));
    if (!agent) throw new NotFoundError('no such agent');
    const b = request.body as { name: string; scope: string; expiresInDays: string };
    const days = b.expiresInDays ? Number(b.expiresInDays) : 0;
    const expiresAt = days > 0 ? new Date(hotline.clock.now().getTime() + days * 86_400_000).toISOString() : null;
    const scope = b.scope === 'ro' ? 'ro' : 'rw';
    const token = await auth.createApiToken(agent.id, b.name, { scope, expiresAt });
    const locale = localeOf(request);
    const what = `${locale.t(scope === 'ro' ? 'admin.agents.tokenRo' : 'admin.agents.token', { login: agent.login })}${expiresAt ? locale.t('admin.agents.tokenUntil', { date: locale.time(expiresAt).split(' ')[0] }) : ''}`;
    return agentPage(request, reply, agent, locale.t('admin.agents.tokenCreated', { what, token }));
  });

  app.post<{ Params: { id: string; token: string } }>('/admin/agents/:id/tokens/:token/revoke', { schema: { params: TokenParams, body: EmptyForm } }, async (request, reply) => {
    requireAdmin(request);
    const id = numericId(request.params.id);
    await auth.revokeApiToken(numericId(request.params.token), id);
    return reply.redirect(`/admin/agents/${id}?done=token-revoked`, 303);
  });

  app.get('/admin/queues', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    return page(views, request, reply, 'admin/queues', { title: localeOf(request).t('admin.queues.title'), queues: await directory.listQueues() });
  });

  const queueFields = (b: unknown) => ({
    name: field(b, 'name'),
    email: optional(field(b, 'email')),
    dialTarget: optional(field(b, 'dialTarget')),
    asteriskQueue: optional(field(b, 'asteriskQueue')),
  });

  /** Voicemail: after how long nobody answered, and the business hours and holidays outside which callers may leave a message. */
  const voicemailFields = (b: unknown) => {
    if (!('voicemailAfter' in (b as object))) return {};
    const after = field(b, 'voicemailAfter');
    const seconds = after ? Number(after) : null;
    if (seconds !== null && (seconds < 5 || seconds > 3600)) throw new ValidationError('voicemailAfter: give between 5 and 3600 seconds, or leave it empty for no voicemail when nobody answers');
    const hours = field(b, 'openHours');
    return {
      voicemailAfterSeconds: seconds,
      openHours: hours ? formatOpenHours(parseOpenHours(hours)) : null,
      holidays: parseHolidays(field(b, 'holidays')),
    };
  };

  app.post('/admin/queues', { schema: { body: QueueForm } }, async (request, reply) => {
    requireAdmin(request);
    await directory.createQueue({ ...queueFields(request.body), isDefault: field(request.body, 'isDefault') === '1' });
    return reply.redirect('/admin/queues?done=queue-saved', 303);
  });

  app.post<{ Params: { id: string } }>('/admin/queues/:id', { schema: { params: IdParams, body: QueueForm } }, async (request, reply) => {
    requireAdmin(request);
    const b = request.body;
    const texts = Object.fromEntries(
      [['en', field(b, 'autoReplyEn')], ['de', field(b, 'autoReplyDe')]].filter(([, text]) => text),
    ) as Record<string, string>;
    const policy = field(b, 'reopenPolicy');
    if (policy && policy !== 'reopen' && policy !== 'new-ticket') throw new ValidationError('follow-up policy must be "reopen" or "new-ticket"');
    await directory.updateQueue(numericId(request.params.id), {
      ...queueFields(b),
      ...(field(b, 'isDefault') === '1' ? { isDefault: true } : {}),
      ...(policy ? { reopenPolicy: policy as 'reopen' | 'new-ticket' } : {}),
      ...('autoReplyEn' in (b as object) ? { autoReply: Object.keys(texts).length ? texts : null } : {}),
      ...('signature' in (b as object) ? { signature: field(b, 'signature') || null } : {}),
      ...voicemailFields(b),
    });
    return reply.redirect('/admin/queues?done=queue-saved', 303);
  });

  app.get('/admin/canned', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const [answers, queues] = await Promise.all([hotline.cannedAnswers.list(), directory.listQueues()]);
    return page(views, request, reply, 'admin/canned', { title: localeOf(request).t('admin.canned.title'), answers, queues });
  });

  const cannedInput = async (b: unknown) => {
    const name = field(b, 'name');
    const body = field(b, 'body');
    if (!name) throw new ValidationError('name: give the canned answer a name');
    if (!body) throw new ValidationError('body: a canned answer needs some text');
    const queueId = field(b, 'queueId') ? Number(field(b, 'queueId')) : null;
    if (queueId !== null && !(await directory.findQueue(queueId))) throw new ValidationError(`queueId: there is no queue ${queueId}`);
    return { queueId, name, body };
  };

  app.post('/admin/canned', { schema: { body: CannedForm } }, async (request, reply) => {
    requireAdmin(request);
    await hotline.cannedAnswers.save(await cannedInput(request.body), new Date().toISOString());
    return reply.redirect('/admin/canned?done=canned-saved', 303);
  });

  app.post<{ Params: { id: string } }>('/admin/canned/:id', { schema: { params: IdParams, body: CannedForm } }, async (request, reply) => {
    requireAdmin(request);
    const id = numericId(request.params.id);
    if (!(await hotline.cannedAnswers.find(id))) throw new NotFoundError('no such canned answer');
    await hotline.cannedAnswers.save({ id, ...(await cannedInput(request.body)) }, new Date().toISOString());
    return reply.redirect('/admin/canned?done=canned-saved', 303);
  });

  app.post<{ Params: { id: string } }>('/admin/canned/:id/delete', { schema: { params: IdParams, body: EmptyForm } }, async (request, reply) => {
    requireAdmin(request);
    if (!(await hotline.cannedAnswers.remove(numericId(request.params.id)))) throw new NotFoundError('no such canned answer');
    return reply.redirect('/admin/canned?done=canned-deleted', 303);
  });

  app.get('/admin/permissions', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const [allAgents, queues] = await Promise.all([agents.list(), directory.listQueues()]);
    const matrix: Record<string, Access> = {};
    for (const a of allAgents.filter((x) => x.role !== 'admin')) {
      for (const q of await directory.visibleQueues(a.id)) matrix[`${a.id}:${q.id}`] = q.access;
    }
    return page(views, request, reply, 'admin/permissions', { title: localeOf(request).t('admin.permissions.title'), agents: allAgents.filter((a) => a.role !== 'admin'), queues, matrix });
  });

  app.post('/admin/permissions', { schema: { body: PermissionsForm } }, async (request, reply) => {
    requireAdmin(request);
    const [allAgents, queues] = await Promise.all([agents.list(), directory.listQueues()]);
    for (const a of allAgents) {
      for (const q of queues) {
        const value = field(request.body, `p_${a.id}_${q.id}`);
        if (!value) continue;
        if (!['none', 'ro', 'rw'].includes(value)) throw new ValidationError(`access must be none, ro or rw, got "${value}"`);
        await directory.setAccess(a.id, q.id, value === 'none' ? null : (value as Access));
      }
    }
    return reply.redirect('/admin/permissions?done=permissions-saved', 303);
  });

  app.get('/admin/customers', { schema: { querystring: CustomerQuery } }, async (request, reply) => {
    requireAdmin(request);
    const query = request.query as { q?: string; page?: string };
    const search = (query.q ?? '').trim();
    const pager = numberedPage(query.page, await directory.countCustomers(search), new URLSearchParams(search ? { q: search } : {}));
    const locale = localeOf(request);
    return page(views, request, reply, 'admin/customers', { title: locale.t('admin.customers.title'), search, pager, customers: await directory.searchCustomers(search, ADMIN_PAGE_SIZE, pager.offset), languages: zoneChoices(hotline, locale).languages });
  });

  app.post('/admin/customers', { schema: { body: CustomerForm } }, async (request, reply) => {
    requireAdmin(request);
    const email = field(request.body, 'email');
    const phone = field(request.body, 'phone');
    await directory.createCustomer({ name: field(request.body, 'name'), emails: email ? [email] : [], phones: phone ? [phone] : [] });
    return reply.redirect('/admin/customers?done=customer-saved', 303);
  });

  app.post<{ Params: { id: string } }>('/admin/customers/:id', { schema: { params: IdParams, body: CustomerForm } }, async (request, reply) => {
    requireAdmin(request);
    const customer = await directory.findCustomer(numericId(request.params.id));
    if (!customer) throw new NotFoundError('no such customer');
    const email = field(request.body, 'email');
    const phone = field(request.body, 'phone');
    if (email) await directory.addCustomerEmail(customer.id, email);
    if (phone) await directory.addCustomerPhone(customer.id, phone);
    return reply.redirect('/admin/customers?done=customer-saved', 303);
  });

  app.post<{ Params: { id: string } }>('/admin/customers/:id/language', { schema: { params: IdParams, body: CustomerLanguageForm } }, async (request, reply) => {
    requireAdmin(request);
    const customer = await directory.findCustomer(numericId(request.params.id));
    if (!customer) throw new NotFoundError('no such customer');
    await directory.setCustomerLanguage(customer.id, (request.body as { language: string }).language || null);
    return reply.redirect('/admin/customers?done=customer-saved', 303);
  });

  app.get('/admin/mail', { schema: { querystring: ListPageQuery } }, async (request, reply) => {
    requireAdmin(request);
    if (!opts.mail) throw new NotFoundError('the mail channel is not running');
    const requested = Number((request.query as { page?: string }).page) || 1;
    let flagged = await opts.mail.flagged((requested - 1) * ADMIN_PAGE_SIZE, ADMIN_PAGE_SIZE);
    const pager = numberedPage(String(requested), flagged.total);
    // Asked past the end (the list shrank): the last page.
    if (pager.page !== requested) flagged = await opts.mail.flagged(pager.offset, ADMIN_PAGE_SIZE);
    return page(views, request, reply, 'admin/mail', { title: localeOf(request).t('admin.mail.title'), status: await opts.mail.status(), pager, flagged: flagged.items });
  });

  app.get<{ Params: { id: string } }>('/admin/mail/:id/raw', { schema: { params: IdParams, querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const bytes = await opts.mail?.rawBytes(numericId(request.params.id));
    if (!bytes) throw new NotFoundError('no such message');
    return reply
      .header('Content-Type', 'application/octet-stream')
      .header('Content-Disposition', `attachment; filename="message-${request.params.id}.eml"`)
      .send(bytes);
  });

  app.post<{ Params: { id: string } }>('/admin/mail/:id/reprocess', { schema: { params: IdParams, body: EmptyForm } }, async (request, reply) => {
    requireAdmin(request);
    if (!(await opts.mail?.reprocess(numericId(request.params.id)))) throw new NotFoundError('no such message');
    return reply.redirect('/admin/mail?done=reprocessed', 303);
  });

  app.get('/admin/prompts', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const { prompts } = hotline;
    const languages = prompts.languages().map((lang) => ({ lang, prompts: prompts.list(lang) }));
    return page(views, request, reply, 'admin/prompts', { title: localeOf(request).t('admin.prompts.title'), languages });
  });

  app.get<{ Params: { lang: string; file: string } }>('/admin/prompts/:lang/:file', { schema: { params: PromptFileParams, querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const name = request.params.file.replace(/\.wav$/, '');
    const bytes = hotline.prompts.read(request.params.lang, name);
    if (!bytes) throw new NotFoundError(`no ${request.params.lang} prompt ${name}`);
    return reply.header('Content-Type', 'audio/wav').header('Cache-Control', 'no-store').send(bytes);
  });

  app.post<{ Params: { lang: string; name: string } }>('/admin/prompts/:lang/:name', { schema: { params: PromptParams, querystring: UploadQuery } }, async (request, reply) => {
    requireAdmin(request);
    if (!request.isMultipart()) throw new ValidationError('choose a WAV file to upload');
    const part = await request.file();
    if (!part || part.fieldname !== 'file') throw new ValidationError('choose a WAV file to upload');
    // Over 20 MB: the multipart plugin answers 413.
    const file = await part.toBuffer();
    hotline.prompts.upload(request.params.lang, request.params.name, file);
    return reply.redirect('/admin/prompts?done=prompt-saved', 303);
  });

  app.post<{ Params: { lang: string; name: string } }>('/admin/prompts/:lang/:name/revert', { schema: { params: PromptParams, body: EmptyForm } }, async (request, reply) => {
    requireAdmin(request);
    hotline.prompts.revert(request.params.lang, request.params.name);
    return reply.redirect('/admin/prompts?done=prompt-reverted', 303);
  });

  app.post('/admin/prompts', { schema: { body: LanguageForm } }, async (request, reply) => {
    requireAdmin(request);
    const added = hotline.prompts.addLanguage(field(request.body, 'lang'));
    return reply.redirect(`/admin/prompts?done=${added ? 'language-added' : 'language-exists'}`, 303);
  });

  app.get('/admin/security', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const [settings, guessing] = await Promise.all([loadSecuritySettings(hotline.settings), opts.guessing?.()]);
    return page(views, request, reply, 'admin/security', { title: localeOf(request).t('admin.security.title'), locks: await auth.loginLocks(), guessing: guessing ?? null, settings, limits: { perLogin: hotline.config.loginFailuresAllowed, perAddress: 20, first: hotline.config.loginFirstWaitSeconds } });
  });

  app.post('/admin/security', { schema: { body: SecurityForm } }, async (request, reply) => {
    requireAdmin(request);
    const b = request.body as { verifyCallerNumber: string; dialPatterns: string };
    await saveSecuritySettings(hotline.settings, { verifyCallerNumber: b.verifyCallerNumber === '1' || b.verifyCallerNumber === 'on', dialPatterns: parseDialPatterns(b.dialPatterns ?? '') });
    return reply.redirect('/admin/security?done=security-saved', 303);
  });

  app.post('/admin/security/logins/clear', { schema: { body: ClearLoginForm } }, async (request, reply) => {
    requireAdmin(request);
    const b = request.body as { key?: string; login?: string };
    await auth.clearLoginLocks(b.key ? { key: b.key } : { login: b.login! });
    return reply.redirect('/admin/security?done=logins-cleared', 303);
  });

  // The wording of every text, per language: the admins' own over the shipped one (text_overrides).
  app.get('/admin/texts', { schema: { querystring: TextsQuery } }, async (request, reply) => {
    requireAdmin(request);
    const locale = localeOf(request);
    const q = request.query as z.output<typeof TextsQuery>;
    const lang = (q.lang || locale.lang) as Language;
    const shipped = hotline.i18n.shipped()[lang];
    const changed = new Map((await hotline.texts.all()).filter((o) => o.lang === lang).map((o) => [o.key, o.text]));
    const search = q.q.trim().toLowerCase();
    const rows = Object.entries(shipped)
      .map(([key, text]) => ({ key, shipped: text, text: changed.get(key) ?? text, changed: changed.has(key) }))
      .filter((r) => (!q.changed || r.changed) && (!search || r.key.toLowerCase().includes(search) || r.text.toLowerCase().includes(search) || r.shipped.toLowerCase().includes(search)));
    const keep = new URLSearchParams({ ...(q.lang ? { lang: q.lang } : {}), ...(q.q ? { q: q.q } : {}), ...(q.changed ? { changed: '1' } : {}) });
    const pager = numberedPage(q.page, rows.length, keep);
    if (pager.page > 1) keep.set('page', String(pager.page));
    const self = `/admin/texts?${keep.toString()}`;
    return page(views, request, reply, 'admin/texts', {
      title: locale.t('admin.texts.title'),
      textLang: lang,
      search: q.q,
      changedOnly: !!q.changed,
      pager,
      rows: rows.slice(pager.offset, pager.offset + ADMIN_PAGE_SIZE),
      self,
      ...zoneChoices(hotline, locale),
    });
  });

  app.post('/admin/texts', { schema: { body: TextForm } }, async (request, reply) => {
    requireAdmin(request);
    const b = request.body as z.output<typeof TextForm>;
    const shipped = hotline.i18n.shipped()[b.lang as Language];
    if (!(b.key in shipped)) throw new NotFoundError(`no text ${b.key}`);
    // The same text as shipped is no change: kept as the shipped one (and follows its updates).
    const text = b.reset || b.text === shipped[b.key] ? '' : b.text;
    const missing = [...shipped[b.key]!.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).filter((name) => text && !text.includes(`{{${name}}}`));
    if (missing.length) throw new ValidationError(`text: keep the placeholder ${missing[0]} (in double braces): a value is filled in there`);
    await hotline.texts.save(b.lang, b.key, text, hotline.clock.now().toISOString());
    await hotline.reloadTexts();
    await hotline.markSettingsChanged();
    await opts.settingsChanged?.();
    const back = /^\/admin\/texts(\?[^#]*)?$/.test(b.back) ? b.back : `/admin/texts?lang=${b.lang}`;
    return reply.redirect(`${back}${back.includes('?') ? '&' : '?'}done=text-saved#${encodeURIComponent(b.key)}`, 303);
  });

  app.get('/admin/ttn', { schema: { querystring: PageQuery } }, async (request, reply) => {
    requireAdmin(request);
    const { ttn } = hotline;
    return page(views, request, reply, 'admin/ttn', { title: localeOf(request).t('admin.ttn.title'), current: ttn.current(), generators: ttn.generatorNames(), checkDigits: ttn.checkDigitNames() });
  });

  app.post('/admin/ttn', { schema: { body: TtnForm } }, async (request, reply) => {
    requireAdmin(request);
    await hotline.ttn.configure({ generator: field(request.body, 'generator'), checkDigit: field(request.body, 'checkDigit'), systemId: field(request.body, 'systemId') });
    await hotline.markSettingsChanged();
    await opts.settingsChanged?.();
    return reply.redirect('/admin/ttn?done=ttn-saved', 303);
  });
}
