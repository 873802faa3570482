import type { HistoryEntry } from '../core/types.js';
import { displayTime } from './page-helpers.js';

/** A history entry as the ticket page's timeline shows it. */
export interface HistoryLine {
  at: string;
  who: string;
  text: string;
}

const BY: Record<HistoryEntry['via'], string> = { agent: 'an agent', mail: 'Mail', phone: 'Phone menu', reminder: 'Reminder', system: 'Hotline' };
const NAMES: Record<string, string> = { state: 'State', owner: 'Owner', queue: 'Queue', priority: 'Priority', title: 'Title', customer: 'Customer' };

/** "State: new → open", "Owner: nobody → Alice" … in words, with the names the entry was recorded with. */
export function historyLines(entries: readonly HistoryEntry[], time: (iso: string | null) => string = displayTime): HistoryLine[] {
  return entries.map((e) => {
    const who = e.via === 'agent' ? (e.agentName ?? 'a removed agent') : BY[e.via];
    const from = e.oldLabel ?? (e.field === 'owner' ? 'nobody' : '–');
    const to = e.newLabel ?? (e.field === 'owner' ? 'nobody' : '–');
    let text: string;
    switch (e.field) {
      case 'created':
        text = `Created in queue ${e.newLabel ?? '?'}`;
        break;
      case 'link':
        text = e.newLabel ? `Linked to ticket ${e.newLabel} (a follow-up of it)` : `Link to ticket ${from} removed`;
        break;
      case 'linked-from':
        text = `Ticket ${to} was opened as a follow-up of this one`;
        break;
      case 'pending-until':
        text = e.newValue ? `Reminder set for ${time(e.newValue)}` : `Reminder ${e.oldValue ? `for ${time(e.oldValue)} ` : ''}removed`;
        break;
      case 'title':
        text = `Title: “${from}” → “${to}”`;
        break;
      default:
        text = `${NAMES[e.field] ?? e.field}: ${from} → ${to}`;
    }
    return { at: time(e.at), who, text };
  });
}
