import { answer } from '../api.js';
import { button, emptyRow, h, replaceChildren, table } from '../dom.js';
import { formatTime } from '../format.js';
import type { CardDetail } from '../types.js';
import { screenHeading, type View } from '../view.js';
import { statusBadge } from './cards.js';

const TIME_FIELDS = new Set([
  'createdAt',
  'updatedAt',
  'activatedAt',
  'failedAt',
  'providerCancelRequestedAt',
  'providerCancelledAt',
]);

/** The card's fields in the order an operator reads them, with their labels. */
const FIELDS: [keyof CardDetail['card'], string][] = [
  ['id', 'Card id'],
  ['status', 'Status'],
  ['color', 'Colour'],
  ['userId', 'User id'],
  ['ownerExternalId', 'Owner (external id)'],
  ['providerCardId', 'Provider card id'],
  ['last4', 'Last 4'],
  ['expMonth', 'Expiry month'],
  ['expYear', 'Expiry year'],
  ['failureCode', 'Failure code'],
  ['failureMessage', 'Failure message'],
  ['correlationId', 'Correlation id'],
  ['createdAt', 'Created'],
  ['updatedAt', 'Updated'],
  ['activatedAt', 'Activated'],
  ['failedAt', 'Failed'],
  ['providerCancelRequestedAt', 'Provider cancel requested'],
  ['providerCancelledAt', 'Provider cancelled'],
];

/** One card: its fields and its saga timeline, oldest first. */
export function cardDetailView(cardId: string): View {
  return async (context) => {
    const heading = screenHeading('Card');
    const errors = h('div', { class: 'feedback' });
    const fields = h('dl', { class: 'fields' });
    const timeline = table('Saga timeline, oldest first', [
      'Time',
      'Kind',
      'Summary',
      'Event id',
      'Request id',
    ]);
    timeline.table.id = 'timeline-table';

    const load = async (announce: boolean): Promise<void> => {
      try {
        const detail = await answer(
          context.api.GET('/v1/admin/cards/{cardId}', { params: { path: { cardId } } }),
        );
        if (!context.isCurrent()) {
          return;
        }
        heading.textContent = `Card ${detail.card.id}`;
        replaceChildren(
          fields,
          FIELDS.filter(([key]) => key in detail.card).map(([key, label]) => {
            const value = detail.card[key];
            let shown: Node | string;
            if (key === 'status') {
              shown = statusBadge(detail.card.status);
            } else if (TIME_FIELDS.has(key) && typeof value === 'string') {
              shown = h('time', { datetime: value }, formatTime(value));
            } else {
              shown = value === null || value === '' ? '—' : String(value);
            }
            return h('div', { class: 'pair', 'data-field': key }, h('dt', {}, label), h('dd', {}, shown));
          }),
        );
        // The API orders the steps (by time, then by saga stage when times are equal); shown as given.
        const entries = detail.timeline;
        replaceChildren(
          timeline.body,
          entries.length === 0
            ? emptyRow(5, 'No saga steps recorded yet.')
            : entries.map((entry) =>
                h(
                  'tr',
                  { 'data-kind': entry.kind },
                  h(
                    'td',
                    {},
                    h('time', { datetime: entry.at }, formatTime(entry.at, { milliseconds: true })),
                  ),
                  h('td', {}, entry.kind),
                  h(
                    'td',
                    {},
                    entry.summary,
                    entry.type ? h('span', { class: 'meta' }, ` (${entry.type})`) : null,
                  ),
                  h('td', { class: 'mono' }, entry.eventId ?? '—'),
                  h('td', { class: 'mono' }, entry.requestId ?? '—'),
                ),
              ),
        );
        replaceChildren(errors);
        if (announce) {
          context.announce(
            `Card ${detail.card.id} is ${detail.card.status}; ${entries.length} saga step(s).`,
          );
        }
      } catch (error) {
        context.fail(error, errors);
      }
    };

    replaceChildren(
      context.main,
      h('p', {}, h('a', { href: '#/cards' }, '← All cards')),
      heading,
      errors,
      h(
        'div',
        { class: 'toolbar' },
        button('Refresh', () => void load(true)),
      ),
      h(
        'section',
        { 'aria-labelledby': 'card-fields-heading' },
        h('h2', { id: 'card-fields-heading' }, 'Fields'),
        fields,
      ),
      h(
        'section',
        { 'aria-labelledby': 'timeline-heading' },
        h('h2', { id: 'timeline-heading' }, 'Saga timeline'),
        h('div', { class: 'table-wrap' }, timeline.table),
      ),
    );
    heading.focus();
    await load(false);
    return undefined;
  };
}
