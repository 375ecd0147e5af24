import { encodeEvent, EventType, type AnyCardEvent } from '@cards/contracts';
import type { RawMessage } from '@cards/messaging';

import {
  describeMessage,
  formatTailLine,
  quotedReason,
  resolveTopic,
  tailJson,
  token,
} from './topics-tail.command';

const CARD = '0b6f1c9e-5a4e-4d8e-9d7e-2f1a3b4c5d6e';
const TIME = Date.parse('2026-03-01T10:00:00.000Z');

const provisioned: AnyCardEvent = {
  id: 'evt-1',
  type: EventType.provisioned,
  source: 'provider-worker',
  time: '2026-03-01T09:59:59.000Z',
  subject: CARD,
  correlationId: 'corr-1',
  data: { cardId: CARD, providerCardId: 'pc_1', last4: '4242', expMonth: 9, expYear: 2030 },
};

function rawMessage(
  topic: string,
  partition: number,
  message: { key?: string; value: string | null; headers: Record<string, string> },
): RawMessage {
  return {
    topic,
    partition,
    key: message.key === undefined ? null : Buffer.from(message.key),
    value: message.value === null ? null : Buffer.from(message.value),
    headers: message.headers,
    rawHeaders: message.headers,
    timestamp: String(TIME),
    offset: '12',
  };
}

describe('resolveTopic', () => {
  const topics = { provisioningCommands: 'c.v1', provisioningResults: 'r.v1' };

  it('when given commands or results, with or without .dlq, then the configured topic comes back; other names as they are', () => {
    expect(resolveTopic('commands', topics)).toBe('c.v1');
    expect(resolveTopic('results.dlq', topics)).toBe('r.v1.dlq');
    expect(resolveTopic('provisioningResults', topics)).toBe('r.v1');
    expect(resolveTopic('cards.provisioning.results.v1.dlq', topics)).toBe(
      'cards.provisioning.results.v1.dlq',
    );
    expect(resolveTopic('constructor', topics)).toBe('constructor');
  });
});

describe('formatTailLine', () => {
  it('when a message is a valid event, then one line shows time, place, type, card, correlation id and data', () => {
    const message = describeMessage(rawMessage('r.v1', 2, encodeEvent(provisioned)));

    expect(formatTailLine(message)).toBe(
      `2026-03-01T10:00:00.000Z  r.v1[2]@12  card.provisioned  ${CARD}  corr-1  ` +
        'providerCardId=pc_1 last4=4242 expMonth=9 expYear=2030',
    );
  });

  it('when a message fails the contracts, then the line says INVALID, what its headers claim and why', () => {
    const message = describeMessage(
      rawMessage('r.v1', 0, { key: 'poison', value: '{not json', headers: { ce_type: 'card.provisioned' } }),
    );

    expect(formatTailLine(message)).toMatch(
      /^2026-03-01T10:00:00\.000Z {2}r\.v1\[0\]@12 {2}INVALID {2}card\.provisioned {2}poison {2}- {2}reason="invalid envelope: .*"$/,
    );
  });

  it('when a dead letter is tailed, then its dlq-* headers are in the summary, the reason last', () => {
    const encoded = encodeEvent(provisioned);
    const message = describeMessage(
      rawMessage('r.v1.dlq', 1, {
        ...encoded,
        headers: {
          ...encoded.headers,
          'dlq-reason': 'retries exhausted:\ndatabase down',
          'dlq-source-topic': 'r.v1',
          'dlq-source-partition': '1',
          'dlq-source-offset': '40',
          'dlq-attempts': '5',
          'dlq-consumer-group': 'g',
          'dlq-failed-at': '2026-03-01T10:00:00.000Z',
        },
      }),
    );

    expect(formatTailLine(message)).toBe(
      `2026-03-01T10:00:00.000Z  r.v1.dlq[1]@12  card.provisioned  ${CARD}  corr-1  ` +
        'providerCardId=pc_1 last4=4242 expMonth=9 expYear=2030 dlq-attempts=5 ' +
        'dlq-failed-at=2026-03-01T10:00:00.000Z dlq-source=r.v1[1]@40 dlq-consumer-group=g ' +
        'dlq-reason="retries exhausted:; database down"',
    );
    expect(JSON.parse(tailJson(message))).toMatchObject({ valid: true, deadLetter: { 'dlq-attempts': '5' } });
  });

  it('when a header holds a newline or a terminal escape, then the line stays one line and the escape is quoted', () => {
    const message = describeMessage(
      rawMessage('t', 0, {
        value: 'x',
        headers: { ce_type: 'evil\n\u001b[2J', 'correlation-id': 'a b\u009b' },
      }),
    );

    const line = formatTailLine(message);

    for (const raw of ['\n', '\u001b', '\u009b']) {
      expect(line.includes(raw)).toBe(false);
    }
    expect(line).toContain('INVALID  "evil\\n\\u001b[2J"  -  "a b\\u009b"');
    expect(token('')).toBe('""');
    expect(token(null)).toBe('-');
  });
});

describe('quotedReason', () => {
  it('when zod prettified the issues over several lines, then they read on one line, each with its path', () => {
    expect(
      quotedReason(
        'invalid envelope: ✖ Invalid input\n  → at ce_source\n✖ Invalid input: expected "1.0"\n  → at ce_specversion',
      ),
    ).toBe(
      '"invalid envelope: ✖ Invalid input at ce_source; ✖ Invalid input: expected \\"1.0\\" at ce_specversion"',
    );
  });

  it('when a poison dead letter is tailed, then its reason is given once, not again as dlq-reason', () => {
    const poison = { key: 'poison', value: '{not json', headers: {} };
    const first = describeMessage(rawMessage('r.v1', 0, poison)).decoded;
    const reason = first.ok ? '' : first.reason;

    const line = formatTailLine(
      describeMessage(
        rawMessage('r.v1.dlq', 0, { ...poison, headers: { 'dlq-reason': reason, 'dlq-attempts': '0' } }),
      ),
    );

    expect(line).toMatch(/ {2}reason="invalid envelope: .*" dlq-attempts=0$/);
    expect(line).not.toContain('dlq-reason');
  });
});

describe('tailJson', () => {
  it('when a message is valid, then the document holds the decoded event; when not, the reason, headers and value', () => {
    const valid: unknown = JSON.parse(
      tailJson(describeMessage(rawMessage('r.v1', 0, encodeEvent(provisioned)))),
    );
    const invalid: unknown = JSON.parse(
      tailJson(describeMessage(rawMessage('r.v1', 0, { value: 'v', headers: {} }))),
    );

    expect(valid).toEqual({
      topic: 'r.v1',
      partition: 0,
      offset: '12',
      timestamp: '2026-03-01T10:00:00.000Z',
      key: CARD,
      valid: true,
      event: provisioned,
    });
    expect(invalid).toMatchObject({ valid: false, value: 'v', headers: {} });
    expect((invalid as { reason: string }).reason).toMatch(/^invalid envelope/);
  });
});
