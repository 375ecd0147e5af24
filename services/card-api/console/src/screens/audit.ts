import { answer } from '../api.js';
import { button, emptyRow, h, replaceChildren, table } from '../dom.js';
import { formatFields, formatTime, formatValue } from '../format.js';
import { Pager, screenHeading, type View } from '../view.js';

/** The audit log of admin actions, newest first, paged. */
export const auditView: View = async (context) => {
  const heading = screenHeading('Audit log');
  const errors = h('div', { class: 'feedback' });
  const grid = table('Admin actions, newest first', [
    'When',
    'Who',
    'Action',
    'Target',
    'Request id',
    'Details',
  ]);
  grid.table.id = 'audit-table';
  const pager = new Pager('Audit log pages', () => void load(true));

  const load = async (announce: boolean): Promise<void> => {
    try {
      const page = await answer(
        context.api.GET('/v1/admin/audit', { params: { query: { limit: 20, cursor: pager.cursor } } }),
      );
      if (!context.isCurrent()) {
        return;
      }
      pager.loaded(page.nextCursor);
      grid.caption.textContent = `Admin actions, newest first, page ${pager.pageNumber}`;
      replaceChildren(
        grid.body,
        page.data.length === 0
          ? emptyRow(6, 'No admin actions recorded yet.')
          : page.data.map((entry) =>
              h(
                'tr',
                { 'data-audit-id': entry.id, 'data-action': entry.action },
                h('td', {}, h('time', { datetime: entry.at }, formatTime(entry.at))),
                h(
                  'td',
                  {},
                  entry.actor.externalId,
                  entry.actor.userId
                    ? h('span', { class: 'meta mono block wrap' }, entry.actor.userId)
                    : null,
                ),
                h('th', { scope: 'row', class: 'nowrap' }, entry.action),
                h('td', { class: 'mono wrap' }, formatValue(entry.target)),
                h('td', { class: 'mono wrap' }, entry.requestId ?? '—'),
                h('td', {}, h('code', { class: 'details' }, formatFields(entry.details))),
              ),
            ),
      );
      replaceChildren(errors);
      if (announce) {
        context.announce(
          `${page.data.length} audit entr${page.data.length === 1 ? 'y' : 'ies'} on page ${pager.pageNumber}.`,
        );
      }
    } catch (error) {
      context.fail(error, errors);
    }
  };

  replaceChildren(
    context.main,
    heading,
    errors,
    h(
      'div',
      { class: 'toolbar' },
      button('Refresh', () => void load(true)),
    ),
    h('div', { class: 'table-wrap' }, grid.table),
    pager.element,
  );
  heading.focus();
  await load(false);
  return undefined;
};
