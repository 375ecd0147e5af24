import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

describe('the card and its outbox row commit together', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('outbox-atomicity');
  });

  afterAll(() => harness.stop());

  it('when writing the outbox row fails, then the card is not stored either, and the client gets a bare 500', async () => {
    const { id, token } = await harness.createUser();
    // Make every outbox insert fail inside the database, after the card insert of the same transaction ran.
    await harness.db.raw(/* sql */ `
      CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'outbox unavailable (test)'; END $$;
      CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();
    `);
    try {
      const response = await harness.request('/v1/cards', {
        method: 'POST',
        token,
        body: buildCardRequest(),
      });
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).toContain('"code":"INTERNAL"');
      expect(body).not.toContain('outbox unavailable');
    } finally {
      await harness.db.raw(/* sql */ 'DROP TRIGGER refuse_outbox ON outbox; DROP FUNCTION refuse_outbox()');
    }
    const [cards] = await harness
      .db('cards')
      .where({ user_id: id })
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(cards?.count)).toBe(0);

    const retried = await harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });
    expect(retried.status).toBe(202);
    const [after] = await harness
      .db('cards')
      .where({ user_id: id })
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(after?.count)).toBe(1);
  });
});
