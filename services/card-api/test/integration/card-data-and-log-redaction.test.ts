import { randomUUID } from 'node:crypto';

import { deadLetterTopic, CardSchema, EventHeaders, EventType, type Card } from '@cards/contracts';
import { Client } from 'pg';

import { buildCardRequest } from '../support/card-api';
import {
  findCardDataFields,
  findCardNumbers,
  isCardDataColumnName,
  plantedCardNumber,
} from '../support/card-data-scan';
import { startLoggedSaga, type LoggedSaga } from '../support/logged-saga';
import { readWholeTopics, type RawMessage } from '../support/topic-contents';

/**
 * DESIGN.md: the full card number and CVV are never stored, logged or returned; logs never show a token or a
 * secret. One saga runs with every process logging at trace level, clients also send card data where they should
 * not, and then every place data ends up — log files, both databases, the topics, the HTTP answers — is searched
 * for card numbers (any Luhn-valid 13–19 digits, not only the planted one), card-data fields and the secrets.
 */
describe('card data and secrets, after a whole saga at trace level', () => {
  let saga: LoggedSaga;
  /** A card number a careless client sends; it must end up nowhere. */
  const planted = plantedCardNumber();
  const cards: Card[] = [];
  const providerAnswers: string[] = [];
  let logs: Record<string, string>;
  let messages: RawMessage[];
  let refusals = 0;

  async function requestCard(
    token: string,
    color: string,
    headers: Record<string, string> = {},
  ): Promise<Card> {
    const answer = await saga.request('/v1/cards', {
      method: 'POST',
      token,
      headers,
      body: buildCardRequest({ color }),
    });
    expect(answer.status).toBe(202);
    return CardSchema.parse(JSON.parse(answer.body));
  }

  /** Long-polls the card until it is terminal, as a client would. */
  async function terminal(token: string, cardId: string): Promise<Card> {
    for (let round = 0; round < 6; round++) {
      const answer = await saga.request(`/v1/cards/${cardId}`, { token, headers: { prefer: 'wait=10' } });
      const card = CardSchema.parse(JSON.parse(answer.body));
      if (card.status !== 'PENDING') {
        return card;
      }
    }
    throw new Error(`card ${cardId} still PENDING after a minute`);
  }

  async function withProviderFaults<T>(faults: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
    await saga.setProviderFaults(faults);
    try {
      return await work();
    } finally {
      await saga.setProviderFaults(Object.fromEntries(Object.keys(faults).map((key) => [key, 0])));
    }
  }

  beforeAll(async () => {
    saga = await startLoggedSaga('card-data');
    const alice = await saga.createUser();
    const bob = await saga.createUser();

    const issued = await Promise.all([
      requestCard(alice.token, 'gold', { 'idempotency-key': randomUUID() }),
      requestCard(alice.token, 'blue'),
      requestCard(bob.token, 'black'),
    ]);
    cards.push(
      ...(await Promise.all(
        issued.map((card, index) => terminal(index < 2 ? alice.token : bob.token, card.id)),
      )),
    );
    cards.push(
      await withProviderFaults({ rejectRate: 1 }, async () =>
        terminal(bob.token, (await requestCard(bob.token, 'pink')).id),
      ),
    );
    cards.push(
      await withProviderFaults({ malformedRate: 1 }, async () =>
        terminal(bob.token, (await requestCard(bob.token, 'silver')).id),
      ),
    );

    // Client mistakes, most of them carrying card data: each must be refused without the card data coming back. None
    // puts it in a URL: an access log records URLs as they come, so a client sending a card number there leaked it.
    const token = alice.token;
    const refused = [
      await saga.request('/v1/cards', {
        method: 'POST',
        token,
        body: JSON.stringify({ color: 'gold', pan: planted, cvv: '123' }),
      }),
      await saga.request('/v1/cards', { method: 'POST', token, body: JSON.stringify({ color: planted }) }),
      await saga.request('/v1/cards', {
        method: 'POST',
        token,
        headers: { 'x-card-number': planted },
        body: JSON.stringify({ color: 'gold', card: { number: planted, cvc: '737' } }),
      }),
      await saga.request('/v1/cards', { token: `${planted}.${planted}.${planted}` }),
      await saga.request('/v1/admin/cards', { token }),
    ];
    // Which 4xx each gets is other tests' business; here it only matters that all were refused.
    const accepted = refused.filter((answer) => answer.status < 400 || answer.status >= 500);
    if (accepted.length > 0) {
      throw new Error(`requests that must be refused were not: ${JSON.stringify(accepted)}`);
    }
    refusals = refused.length;

    for (const card of cards) {
      const response = await fetch(`${saga.providerUrl}/v1/cards?reference=${card.id}`);
      providerAnswers.push(await response.text());
    }

    logs = await saga.stopProcesses();
    messages = await readWholeTopics(
      [saga.topics.commands, saga.topics.results].flatMap((topic) => [topic, deadLetterTopic(topic)]),
    );
  }, 120_000);

  afterAll(() => saga.stop());

  it('when the detectors meet card data or its look-alikes, then they find the card data only', () => {
    const leaks = `{"cardNumber":"${planted}","x":"4111 1111 1111 1111","y":"5555-5555-5555-4444","cvv":"123"}`;
    expect(findCardNumbers(leaks)).toEqual([planted, '4111111111111111', '5555555555554444']);
    expect(findCardDataFields(leaks)).toEqual([`"cardNumber":"${planted}`, '"cvv":"123']);

    const lookAlikes = [
      '"time":1795833668894',
      '(node:1) TimeoutNegativeWarning: -1795833668894 is a negative number.',
      'pc_4111111111111111ab',
      randomUUID(),
      '"cvv":"[redacted]","pan":"[redacted]"',
      '"last4":"1111","expMonth":11,"expYear":2029',
      '4111111111111112',
    ].join('\n');
    expect(findCardNumbers(lookAlikes)).toEqual([]);
    expect(findCardDataFields(lookAlikes)).toEqual([]);
  });

  it('when the saga ran, then cards ended ACTIVE and FAILED as the provider decided', () => {
    expect(cards.map((card) => card.status)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'FAILED', 'FAILED']);
    expect(cards.slice(3).map((card) => card.failureCode)).toEqual([
      'PROVIDER_REJECTED',
      'PROVIDER_CONTRACT_VIOLATION',
    ]);
  });

  it('when every log file is searched, then no token, secret, database password or card data is in any', () => {
    const files = Object.entries(logs);
    expect(files).toHaveLength(5);

    const { jwtSecret, databasePassword } = saga.secrets;
    const needles: [string, string][] = [
      ['the JWT secret', jwtSecret],
      ['the database password', `:${databasePassword}@`],
      ...(databasePassword.length >= 12
        ? [['the database password', databasePassword] as [string, string]]
        : []),
      ...saga.tokens.flatMap((token, index): [string, string][] => [
        [`bearer token ${index}`, token],
        [`the signature of bearer token ${index}`, token.split('.')[2] ?? token],
      ]),
      ['the planted card number', planted],
    ];
    const findings = files.flatMap(([file, text]) => [
      ...needles.filter(([, needle]) => text.includes(needle)).map(([name]) => `${file}: ${name}`),
      ...findCardNumbers(text).map((number) => `${file}: card number ${number}`),
      ...findCardDataFields(text).map((field) => `${file}: card-data field ${field}`),
    ]);
    expect(findings).toEqual([]);

    // Not vacuous: the secrets were handed to the loggers (each process dumps its configuration; card-api logs
    // every request with its headers), and the lines name the cards they were about.
    for (const [file, text] of files) {
      expect({ file, configurationDumped: text.includes('"msg":"effective configuration"') }).toEqual({
        file,
        configurationDumped: true,
      });
    }
    // Every process but the worker (which has no database) logs its DATABASE_URL with the password masked.
    for (const [file, text] of files.filter(([name]) => !name.includes('provider-worker'))) {
      expect({
        file,
        passwordMasked: /"DATABASE_URL":"postgres(ql)?:\/\/[^"]*:\[redacted\]@/.test(text),
      }).toEqual({
        file,
        passwordMasked: true,
      });
    }
    // The card-api processes read the token secret, so they log it (masked) with the rest of their configuration.
    for (const [file, text] of files.filter(([name]) => /card-api|outbox-relay|card-events/.test(name))) {
      expect({ file, secretMasked: text.includes('"JWT_SECRET":"[redacted]"') }).toEqual({
        file,
        secretMasked: true,
      });
    }
    const authenticatedRequests = saga.answers.filter((answer) => answer.path.startsWith('/v1/')).length;
    expect(
      logs['card-data-card-api.log']?.match(/"authorization":"\[redacted\]"/g)?.length,
    ).toBeGreaterThanOrEqual(authenticatedRequests);
    const all = files.map(([, text]) => text).join('\n');
    for (const card of cards) {
      expect(all).toContain(card.id);
    }
  });

  it('when both databases are searched, then no column is named for card data and no row holds a card number', async () => {
    for (const database of [saga.cardDatabase, saga.providerDatabase]) {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows: columns } = await client.query<{
          table_schema: string;
          table_name: string;
          column_name: string;
          data_type: string;
        }>(/* sql */ `
          SELECT c.table_schema, c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE t.table_type = 'BASE TABLE'
             AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
             AND c.table_schema NOT LIKE 'pg\\_%'
        `);
        expect(columns.filter((column) => isCardDataColumnName(column.column_name))).toEqual([]);
        expect(columns.map((column) => column.column_name)).toContain('last4');

        const textual = columns.filter((column) =>
          ['text', 'character varying', 'character', 'json', 'jsonb'].includes(column.data_type),
        );
        const tables = new Map<string, string[]>();
        for (const column of textual) {
          const table = `"${column.table_schema}"."${column.table_name}"`;
          tables.set(table, [...(tables.get(table) ?? []), `"${column.column_name}"::text`]);
        }
        let contents = '';
        for (const [table, expressions] of tables) {
          const { rows } = await client.query<{ row: string | null }>(
            /* sql */ `SELECT concat_ws(E'\\n', ${expressions.join(', ')}) AS row FROM ${table}`,
          );
          contents += rows.map((row) => row.row ?? '').join('\n');
        }

        // Not vacuous: the card rows were read, last4 and all.
        for (const card of cards.filter((card) => card.status === 'ACTIVE')) {
          expect(contents).toContain(card.last4);
        }
        expect(findCardNumbers(contents)).toEqual([]);
        expect(findCardDataFields(contents)).toEqual([]);
        expect(contents).not.toContain(planted);
      } finally {
        await client.end();
      }
    }
  });

  it('when the topics are read raw, then no message carries card data and results carry only last4 and expiry', () => {
    const commands = messages.filter((message) => message.topic === saga.topics.commands);
    const results = messages.filter((message) => message.topic === saga.topics.results);
    expect(commands.length).toBeGreaterThanOrEqual(cards.length);
    expect(results.length).toBeGreaterThanOrEqual(cards.length);

    for (const message of messages) {
      const text = `${message.key ?? ''}\n${message.value ?? ''}\n${JSON.stringify(message.headers)}`;
      expect({
        topic: message.topic,
        numbers: findCardNumbers(text),
        fields: findCardDataFields(text),
      }).toEqual({
        topic: message.topic,
        numbers: [],
        fields: [],
      });
      expect(Object.keys(message.headers).filter(isCardDataColumnName)).toEqual([]);
      expect(text).not.toContain(planted);
    }

    const provisioned = results.filter(
      (message) => message.headers[EventHeaders.type] === EventType.provisioned,
    );
    expect(provisioned.length).toBeGreaterThanOrEqual(3);
    for (const message of provisioned) {
      const data = JSON.parse(message.value ?? 'null') as Record<string, unknown>;
      expect(Object.keys(data).sort()).toEqual([
        'attempts',
        'cardId',
        'expMonth',
        'expYear',
        'last4',
        'providerCardId',
      ]);
      const card = cards.find((candidate) => candidate.id === data['cardId']);
      expect(data).toMatchObject({ last4: card?.last4, expMonth: card?.expMonth, expYear: card?.expYear });
    }
  });

  it('when clients were answered, errors included, then no answer carried a card number, a token or a secret', () => {
    const problems = saga.answers.filter((answer) => answer.status >= 400);
    expect(problems.length).toBeGreaterThanOrEqual(refusals);
    for (const problem of problems) {
      expect(problem.contentType).toContain('application/problem+json');
    }
    const secrets = [saga.secrets.jwtSecret, saga.secrets.databasePassword, ...saga.tokens, planted];
    for (const answer of saga.answers) {
      const where = `${answer.method} ${answer.path.replace(planted, '<planted>')} → ${answer.status}`;
      expect({
        where,
        numbers: findCardNumbers(answer.body),
        fields: findCardDataFields(answer.body),
      }).toEqual({
        where,
        numbers: [],
        fields: [],
      });
      expect({ where, secrets: secrets.filter((secret) => answer.body.includes(secret)) }).toEqual({
        where,
        secrets: [],
      });
    }
    // The card bodies as sent, not as parsed (parsing would drop any extra field): exactly the documented fields.
    const cardBodies = saga.answers
      .filter((answer) => answer.status < 300 && answer.path.startsWith('/v1/cards'))
      .map((answer) => JSON.parse(answer.body) as Record<string, unknown>);
    expect(cardBodies.length).toBeGreaterThanOrEqual(cards.length * 2);
    for (const body of cardBodies) {
      expect(Object.keys(body).sort()).toEqual(Object.keys(CardSchema.shape).sort());
    }
  });

  it('when the provider is asked for the cards it issued, then it answers with last4 and expiry only', () => {
    expect(providerAnswers).toHaveLength(cards.length);
    for (const answer of providerAnswers) {
      expect(findCardNumbers(answer)).toEqual([]);
      expect(findCardDataFields(answer)).toEqual([]);
    }
    expect(providerAnswers.join('\n')).toContain(`"last4":"${cards[0]?.last4 ?? ''}"`);
  });
});
