import { randomUUID } from 'node:crypto';
import type { Hotline } from '../app.js';
import type { Agent, Ticket } from '../core/types.js';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import { dialAllowed, loadSecuritySettings } from '../core/security-settings.js';
import { DIAL_CONTEXT } from '../pbx/names.js';
import { PbxUnavailableError } from '../pbx/with-timeout.js';
import type { WebPbx } from './ports.js';
import type { Logger } from '../logger.js';

/**
 * Click-to-dial, from a ticket or from the caller log: the agent's phone rings first, then the number
 * is dialled. Only numbers on file for a customer the agent may see (and those an admin allowed) —
 * not premium lines or anyone else on the company's bill. The call goes into the caller log as a
 * call out, and on the ticket (if any) as a call article.
 */
export async function clickToDial(
  hotline: Pick<Hotline, 'calls' | 'config' | 'directory' | 'settings' | 'tickets'>,
  pbx: WebPbx | undefined,
  log: Logger | { error(obj: unknown, msg: string): void },
  input: { agent: Agent; raw: string; allowed: readonly string[]; ticket: Ticket | null; queueId: number | null; refusal: string },
): Promise<void> {
  const { agent, ticket } = input;
  const number = hotline.directory.normalisePhone(input.raw);
  if (!number) throw new ValidationError(`"${input.raw}" is not a phone number`);
  if (!dialAllowed(number, input.allowed, (await loadSecuritySettings(hotline.settings)).dialPatterns)) throw new ForbiddenError(`${number} ${input.refusal}`);
  if (!agent.dialString) throw new ValidationError('your phone is not set up: ask an admin to enter your phone dial string');
  if (!pbx) {
    const { services } = hotline.config;
    throw new PbxUnavailableError(services.includes('bridge') ? 'the phone system is not connected to Hotline' : `calls are placed by the Hotline instances with the bridge; this one runs ${services.join(', ')} only`);
  }
  const record = await hotline.calls.placed({ channelId: `out-${randomUUID()}`, agentId: agent.id, from: agent.dialString, number, ticketId: ticket?.id ?? null, queueId: ticket?.queueId ?? input.queueId });
  const article = (outcome: string) =>
    ticket ? hotline.tickets.addArticle(ticket.id, { kind: 'call', to: number, subject: 'Click-to-dial', text: `${agent.name} called ${number} from ${agent.dialString}: ${outcome}`, authorAgentId: agent.id }, { agentId: agent.id }) : Promise.resolve();
  try {
    const { result } = await pbx.originate({ channel: agent.dialString, context: DIAL_CONTEXT, exten: number, callerId: ticket ? `"${ticket.ttn}" <${number}>` : number, variables: ticket ? { HOTLINE_TTN: ticket.ttn } : {} });
    result
      .then(
        async (outcome) => {
          await hotline.calls.reached(record.id, outcome.connected);
          await article(outcome.text);
        },
        async (error: Error) => {
          await hotline.calls.reached(record.id, false);
          await article(`failed — ${error.message}`);
        },
      )
      .catch((error) => log.error({ err: error }, 'logging a click-to-dial call failed'));
  } catch (error) {
    await hotline.calls.reached(record.id, false);
    await article(`refused — ${(error as Error).message}`);
    throw new PbxUnavailableError(`The phone system did not place the call: ${(error as Error).message}`);
  }
}
