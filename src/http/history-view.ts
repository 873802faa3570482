import type { HistoryEntry } from '../core/types.js';
import type { Locale } from './locale.js';

/** A history entry as the ticket page's timeline shows it. */
export interface HistoryLine {
  at: string;
  who: string;
  text: string;
}

/** The values a field's change shows: states in words, the rest as recorded. */
const shown = (locale: Locale, field: string, label: string | null): string => {
  if (label === null) return field === 'owner' ? locale.t('list.nobody') : '–';
  return field === 'state' ? locale.t(`state.${label}`, { defaultValue: label }) : label;
};

/** "State: new → open", "Owner: nobody → Alice" … in the reader's words, with the names the entry was recorded with. */
export function historyLines(entries: readonly HistoryEntry[], locale: Locale): HistoryLine[] {
  const { t } = locale;
  return entries.map((e) => {
    const who = e.via === 'agent' ? (e.agentName ?? t('history.removedAgent')) : t(`history.by.${e.via}`);
    const from = shown(locale, e.field, e.oldLabel);
    const to = shown(locale, e.field, e.newLabel);
    let text: string;
    switch (e.field) {
      case 'created':
        text = t('history.created', { queue: e.newLabel ?? '?' });
        break;
      case 'link':
        text = e.newLabel ? t('history.linked', { ttn: e.newLabel }) : t('history.unlinked', { ttn: from });
        break;
      case 'linked-from':
        text = t('history.linkedFrom', { ttn: to });
        break;
      case 'pending-until':
        text = e.newValue ? t('history.reminderSet', { time: locale.time(e.newValue) }) : e.oldValue ? t('history.reminderRemovedFor', { time: locale.time(e.oldValue) }) : t('history.reminderRemoved');
        break;
      case 'title':
        text = t('history.title', { from, to });
        break;
      default:
        text = t('history.change', { field: t(`history.field.${e.field}`, { defaultValue: e.field }), from, to });
    }
    return { at: locale.time(e.at), who, text };
  });
}
