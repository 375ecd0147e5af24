import { answer } from '../api.js';
import { button, emptyRow, h, replaceChildren, table, uniqueId } from '../dom.js';
import { formatAge, formatTime } from '../format.js';
import type { DeadLetter } from '../types.js';
import { screenHeading, type View } from '../view.js';

/** Pipeline health: outbox, Kafka, consumer lag, dead letters (listed and replayed on demand). */
export const pipelineView: View = async (context) => {
  const heading = screenHeading('Pipeline health');
  const errors = h('div', { class: 'feedback' });
  const checkedAt = h('span', { class: 'meta' });
  const outbox = h('dl', { class: 'fields' });
  const kafka = h('dl', { class: 'fields' });
  const lag = table('Consumer lag by group and topic, and which member owns which partitions', [
    'Consumer group',
    'Topic',
    'Lag (messages)',
    'Members: partitions',
  ]);
  lag.table.id = 'lag-table';
  const quarantine = table('Quarantined outbox rows', [
    'Row id',
    'Type',
    'Card',
    'Attempts',
    'Waiting behind',
    'Quarantined at',
    'Why',
  ]);
  quarantine.table.id = 'quarantine-table';
  const dead = table('Dead letters by topic', ['Topic', 'Dead-letter topic', 'Dead letters', 'Action']);
  dead.table.id = 'dead-letters-table';
  const letters = h('section', { class: 'letters', 'aria-live': 'polite' });
  const dialog = replayDialog();
  let openTopic: string | undefined;

  const load = async (announce: boolean): Promise<void> => {
    try {
      const health = await answer(context.api.GET('/v1/admin/pipeline'));
      if (!context.isCurrent()) {
        return;
      }
      checkedAt.textContent = `Checked ${formatTime(health.checkedAt)}`;
      replaceChildren(
        outbox,
        pair('Backlog (unpublished events)', health.outbox.backlog, 'outbox-backlog'),
        pair(
          'Oldest unpublished event',
          health.outbox.oldestAgeSeconds === null
            ? 'none'
            : `${formatAge(health.outbox.oldestAgeSeconds)} old`,
        ),
        pair('Failing rows', health.outbox.failingRows),
        pair(
          'Active relay (holds the lease)',
          health.relay.holder
            ? `${health.relay.holder.applicationName ?? 'unnamed session'}${
                health.relay.holder.since ? `, since ${formatTime(health.relay.holder.since)}` : ''
              }`
            : 'none running',
          'relay-holder',
        ),
        pair(
          'Quarantined rows',
          h(
            'span',
            { class: health.outbox.quarantinedRows > 0 ? 'badge badge-failed' : '' },
            health.outbox.quarantinedRows,
          ),
          'outbox-quarantined',
        ),
      );
      replaceChildren(
        quarantine.body,
        health.outbox.quarantined.length === 0
          ? emptyRow(7, 'No quarantined rows.')
          : health.outbox.quarantined.map((row) =>
              h(
                'tr',
                { 'data-outbox-id': row.id },
                h('th', { scope: 'row', class: 'number' }, row.id),
                h('td', {}, row.type),
                h('td', { class: 'mono' }, h('a', { href: `#/cards/${row.cardId}` }, row.cardId)),
                h('td', { class: 'number' }, row.attempts),
                h('td', { class: 'number' }, row.waitingBehind),
                h('td', {}, h('time', { datetime: row.quarantinedAt }, formatTime(row.quarantinedAt))),
                h('td', {}, row.lastError ?? '—'),
              ),
            ),
      );
      replaceChildren(
        kafka,
        pair(
          'Kafka',
          h(
            'span',
            { class: `badge ${health.kafka.available ? 'badge-active' : 'badge-failed'}` },
            health.kafka.available ? 'available' : 'unavailable',
          ),
          'kafka-available',
        ),
        health.kafka.error ? pair('Error', health.kafka.error) : null,
      );
      replaceChildren(
        lag.body,
        health.consumers.length === 0
          ? emptyRow(4, 'No consumer groups reported.')
          : health.consumers.map((consumer) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row', class: 'mono' }, consumer.groupId),
                h('td', { class: 'mono' }, consumer.topic),
                h('td', { class: 'number' }, consumer.lag),
                h(
                  'td',
                  { 'data-field': 'members' },
                  consumer.members.length === 0
                    ? h('span', { class: 'meta' }, 'no members (stopped, or rebalancing)')
                    : h(
                        'ul',
                        { class: 'plain' },
                        consumer.members.map((member) =>
                          h(
                            'li',
                            { class: 'mono', title: member.memberId },
                            `${member.clientId}@${member.host}: ${
                              member.partitions.length === 0 ? 'none' : member.partitions.join(', ')
                            }`,
                          ),
                        ),
                      ),
                ),
              ),
            ),
      );
      replaceChildren(
        dead.body,
        health.deadLetters.length === 0
          ? emptyRow(4, 'No dead-letter topics reported.')
          : health.deadLetters.map((entry) =>
              h(
                'tr',
                { 'data-topic': entry.topic },
                h('th', { scope: 'row', class: 'mono' }, entry.topic),
                h('td', { class: 'mono' }, entry.deadLetterTopic),
                h('td', { class: 'number' }, entry.count),
                h(
                  'td',
                  {},
                  entry.count > 0
                    ? button('Show dead letters', () => void showLetters(entry.topic), {
                        'aria-label': `Show dead letters of ${entry.topic}`,
                        'aria-controls': 'dead-letter-list',
                      })
                    : h('span', { class: 'meta' }, 'none'),
                ),
              ),
            ),
      );
      replaceChildren(errors);
      if (announce) {
        context.announce('Pipeline health refreshed.');
      }
    } catch (error) {
      context.fail(error, errors);
    }
  };

  const showLetters = async (topic: string, result?: HTMLElement): Promise<void> => {
    openTopic = topic;
    const slot = h('div', { class: 'feedback' });
    replaceChildren(
      letters,
      h('h2', { id: 'dead-letter-list', tabindex: -1 }, `Dead letters of ${topic}`),
      result,
      slot,
    );
    try {
      const list = await answer(context.api.GET('/v1/admin/dead-letters', { params: { query: { topic } } }));
      if (!context.isCurrent() || openTopic !== topic) {
        return;
      }
      const grid = table(`Dead letters of ${topic}`, [
        'Partition',
        'Offset',
        'Key',
        'Event id',
        'Type',
        'Reason',
        'Attempts',
        'Failed at',
        'Action',
      ]);
      grid.table.id = 'dead-letter-table';
      replaceChildren(
        grid.body,
        list.data.length === 0
          ? emptyRow(9, 'No dead letters on this topic.')
          : list.data.map((letter) =>
              h(
                'tr',
                {
                  'data-offset': letter.offset,
                  'data-partition': letter.partition,
                  'data-ce-id': letter.ceId ?? '',
                },
                h('td', { class: 'number' }, letter.partition),
                h('th', { scope: 'row', class: 'number' }, letter.offset),
                h('td', { class: 'mono' }, letter.key ?? '—'),
                h('td', { class: 'mono' }, letter.ceId ?? '—'),
                h('td', {}, letter.ceType ?? '—'),
                h('td', {}, letter.reason ?? '—'),
                h('td', { class: 'number' }, letter.attempts ?? '—'),
                h(
                  'td',
                  {},
                  letter.failedAt
                    ? h('time', { datetime: letter.failedAt }, formatTime(letter.failedAt))
                    : '—',
                ),
                h(
                  'td',
                  {},
                  button('Replay', () => void confirmReplay(topic, letter), {
                    'aria-label': `Replay offset ${letter.offset} of partition ${letter.partition}`,
                  }),
                ),
              ),
            ),
      );
      slot.replaceWith(h('div', { class: 'table-wrap' }, grid.table));
      if (!result) {
        letters.querySelector<HTMLElement>('#dead-letter-list')?.focus();
      }
    } catch (error) {
      context.fail(error, slot);
    }
  };

  /** `topic` is the main topic the list was asked for; the letter's own `topic` may name the .dlq. */
  const confirmReplay = async (topic: string, letter: DeadLetter): Promise<void> => {
    const confirmed = await dialog.ask(letter);
    if (!confirmed || !context.isCurrent()) {
      return;
    }
    const outcome = h('div', { class: 'replay-result' });
    try {
      const result = await answer(
        context.api.POST('/v1/admin/dead-letters/replay', {
          body: { topic, partition: letter.partition, offset: letter.offset },
        }),
      );
      const summary = `Replayed ${result.replayed.length} message(s) onto ${result.topic}`;
      replaceChildren(
        outcome,
        h('p', { class: 'success', role: 'status', tabindex: -1, id: 'replay-result' }, `${summary}.`),
        h(
          'ul',
          {},
          result.replayed.map((message) =>
            h(
              'li',
              { class: 'mono' },
              `partition ${message.partition}, offset ${message.offset}: ${message.ceType ?? 'no type'} (event id ${message.ceId ?? '—'})`,
            ),
          ),
        ),
      );
      context.announce(`${summary}.`);
      await Promise.all([load(false), showLetters(topic, outcome)]);
      outcome.querySelector<HTMLElement>('#replay-result')?.focus();
    } catch (error) {
      context.fail(error, outcome);
      letters.prepend(outcome);
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
      checkedAt,
    ),
    h(
      'div',
      { class: 'panels' },
      h(
        'section',
        { 'aria-labelledby': 'outbox-heading', class: 'panel' },
        h('h2', { id: 'outbox-heading' }, 'Outbox'),
        outbox,
      ),
      h(
        'section',
        { 'aria-labelledby': 'kafka-heading', class: 'panel' },
        h('h2', { id: 'kafka-heading' }, 'Kafka'),
        kafka,
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'quarantine-heading' },
      h('h2', { id: 'quarantine-heading' }, 'Quarantined outbox rows'),
      h(
        'p',
        { class: 'meta' },
        'Rows the relay set aside; later events of the same card wait behind them. ',
        'Inspect with ',
        h('code', {}, 'ops outbox quarantined'),
        ', fix and release with ',
        h('code', {}, 'ops outbox release <id> [--event-file <path>]'),
        '.',
      ),
      h('div', { class: 'table-wrap' }, quarantine.table),
    ),
    h(
      'section',
      { 'aria-labelledby': 'lag-heading' },
      h('h2', { id: 'lag-heading' }, 'Consumer lag'),
      h('div', { class: 'table-wrap' }, lag.table),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dead-heading' },
      h('h2', { id: 'dead-heading' }, 'Dead letters'),
      h('div', { class: 'table-wrap' }, dead.table),
    ),
    letters,
    dialog.element,
  );
  heading.focus();
  await load(false);
  return () => {
    dialog.element.close();
  };
};

function pair(label: string, value: Node | string | number, field?: string): HTMLElement {
  return h('div', { class: 'pair', 'data-field': field }, h('dt', {}, label), h('dd', {}, value));
}

/** A native modal <dialog> asking to confirm one replay; focus goes to Cancel and back to the Replay button. */
function replayDialog(): { element: HTMLDialogElement; ask(letter: DeadLetter): Promise<boolean> } {
  const titleId = uniqueId('replay-title');
  const descriptionId = uniqueId('replay-description');
  const description = h('p', { id: descriptionId });
  const cancel = h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel');
  const confirm = h('button', { type: 'submit', value: 'replay', class: 'primary' }, 'Replay');
  const element = h(
    'dialog',
    { 'aria-labelledby': titleId, 'aria-describedby': descriptionId, class: 'confirm' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: titleId }, 'Replay this dead letter?'),
      description,
      h(
        'p',
        { class: 'meta' },
        'It is published again, unchanged, onto its original topic. Consumers are idempotent, so a message applied before has no second effect.',
      ),
      h('div', { class: 'actions' }, cancel, confirm),
    ),
  );
  return {
    element,
    ask(letter) {
      const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      description.textContent =
        `Offset ${letter.offset} of partition ${letter.partition} on ${letter.topic}` +
        (letter.ceType ? `, a ${letter.ceType} event` : '') +
        (letter.ceId ? ` with id ${letter.ceId}` : '') +
        '.';
      element.returnValue = '';
      return new Promise<boolean>((resolve) => {
        element.addEventListener(
          'close',
          () => {
            opener?.focus();
            resolve(element.returnValue === 'replay');
          },
          { once: true },
        );
        element.showModal();
        cancel.focus();
      });
    },
  };
}
