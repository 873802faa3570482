import type { DirectoryService } from '../core/directory-service.js';
import type { TicketService } from '../core/ticket-service.js';

/**
 * A ticket Hotline opens for a caller (by the phone menu's `#`, or for a message they left): in
 * `queueId`, for the customer the caller's number is on file for, if any, with a `phone` article.
 */
export async function openPhoneTicket(deps: { tickets: TicketService; directory: DirectoryService }, input: { queueId: number; callerNumber: string | null; title: string; text: string }) {
  const [customer] = await deps.directory.findCustomersByPhone(input.callerNumber);
  return deps.tickets.create(
    { queueId: input.queueId, title: input.title, customerId: customer?.id ?? null, article: { kind: 'phone', from: input.callerNumber, text: input.text } },
    'system',
    'phone',
  );
}
