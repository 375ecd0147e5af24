import type { OutboxStatusFigures } from '../../data-access/outbox.repository';
import { formatAge, outboxStatusCommand } from './outbox-status.command';

const quiet: OutboxStatusFigures = {
  pending: 0,
  oldestCreatedAt: null,
  oldestAgeSeconds: null,
  failing: 0,
  quarantined: 0,
  firstFailing: null,
  publishedLastMinute: 0,
};

async function status(figures: OutboxStatusFigures, relay: boolean, json = false): Promise<string[]> {
  const lines: string[] = [];
  await outboxStatusCommand({
    json,
    out: (line) => lines.push(line),
    deps: {
      figures: () => Promise.resolve(figures),
      relayHolder: () =>
        Promise.resolve(
          relay
            ? {
                pid: 4242,
                applicationName: '',
                clientAddr: '127.0.0.1',
                backendStart: new Date('2026-03-01T08:00:00.000Z'),
                state: 'idle',
              }
            : undefined,
        ),
    },
  });
  return lines;
}

describe('outbox status', () => {
  it('when the outbox is empty and no relay holds the lock, then it says so', async () => {
    expect(await status(quiet, false)).toEqual([
      'backlog: 0 unpublished row(s)',
      'oldest unpublished: -',
      'failing: 0 row(s) with a publish error',
      'quarantined: 0 row(s)',
      'published in the last minute: 0',
      'relay: none (no relay is running)',
    ]);
  });

  it('when rows wait and fail, then the backlog, the oldest and the first failing row are shown with the holder', async () => {
    const lines = await status(
      {
        pending: 3,
        oldestCreatedAt: new Date('2026-03-01T09:58:00.000Z'),
        oldestAgeSeconds: 125.4,
        failing: 2,
        firstFailing: {
          id: '17',
          type: 'card.provision.requested',
          key: 'card-1',
          attempts: 4,
          lastError: 'broker down\nfor good',
          createdAt: new Date('2026-03-01T09:58:00.000Z'),
        },
        quarantined: 2,
        publishedLastMinute: 9,
      },
      true,
    );

    expect(lines).toEqual([
      'backlog: 3 unpublished row(s)',
      'oldest unpublished: 2026-03-01T09:58:00.000Z (2 min 5 s ago)',
      'failing: 2 row(s) with a publish error; first id=17 type=card.provision.requested key=card-1 attempts=4 ' +
        'error="broker down\\nfor good"',
      'quarantined: 2 row(s), set aside until released (outbox quarantined)',
      'published in the last minute: 9',
      'relay: pid=4242 application_name=- client_addr=127.0.0.1 backend_start=2026-03-01T08:00:00.000Z state=idle',
    ]);
  });

  it('when asked for JSON, then one document holds the figures and the holder', async () => {
    const [line, ...others] = await status({ ...quiet, pending: 1 }, true, true);

    expect(others).toEqual([]);
    expect(JSON.parse(line ?? '')).toMatchObject({
      pending: 1,
      relay: { pid: 4242, backendStart: '2026-03-01T08:00:00.000Z' },
    });
  });
});

describe('formatAge', () => {
  it('when given seconds, then it reads as seconds, minutes or hours', () => {
    expect(formatAge(0.04)).toBe('0.0 s');
    expect(formatAge(61)).toBe('1 min 1 s');
    expect(formatAge(7322)).toBe('2 h 2 min');
  });
});
