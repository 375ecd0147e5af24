import { ProblemSchema } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

async function expectOverloaded(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(ProblemSchema.parse(await response.json()).code).toBe('OVERLOADED');
}

/** The probes an orchestrator and Prometheus send: they must answer whatever the load. */
async function expectProbesAnswer(harness: CardApiHarness): Promise<void> {
  expect((await harness.request('/healthz')).status).toBe(200);
  expect((await harness.request('/readyz')).status).toBe(200);
  expect((await harness.request('/metrics')).status).toBe(200);
}

describe('admission control: past its bound of in-flight requests, card-api answers 503 at once', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('admission-in-flight', {
      HTTP_MAX_IN_FLIGHT: '2',
      HTTP_OVERLOAD_RETRY_AFTER_SECONDS: '1',
      DATABASE_STATEMENT_TIMEOUT_MS: '20000',
    });
  });

  afterAll(() => harness.stop());

  const post = (token: string) =>
    harness.request('/v1/cards', { method: 'POST', token, body: buildCardRequest() });

  it('when two slow requests hold the bound, then others are 503 OVERLOADED with Retry-After, probes answer, and nothing refused is written', async () => {
    const [slow, other] = [await harness.createUser(), await harness.createUser()];
    const locker = await harness.db.transaction();
    let held: Response[];
    try {
      // Card requests lock the user's row: holding it here keeps two requests in flight.
      await locker('users').where({ id: slow.id }).forUpdate().select('id');
      const holding = [post(slow.token), post(slow.token)];
      await eventually(async () => {
        await expectOverloaded(await post(other.token));
      });
      const refused = await Promise.all(Array.from({ length: 10 }, () => post(other.token)));
      for (const response of refused) {
        await expectOverloaded(response);
      }
      await expectOverloaded(await harness.request('/v1/cards', { token: other.token }));
      await expectProbesAnswer(harness);
      await locker.rollback();
      held = await Promise.all(holding);
    } finally {
      if (!locker.isCompleted()) {
        await locker.rollback();
      }
    }
    expect(held.map((response) => response.status)).toEqual([202, 202]);
    const [refusedCards] = await harness
      .db('cards')
      .where({ user_id: other.id })
      .count<{ count: string }[]>('* as count');
    expect(Number(refusedCards?.count)).toBe(0);
    // The bound is free again.
    expect((await post(other.token)).status).toBe(202);
  });

  it('when a burst exceeds the bound, then every card answered 202 exists with its outbox row, and no other was written', async () => {
    const users: { id: string; token: string }[] = [];
    for (let index = 0; index < 5; index++) {
      users.push(await harness.createUser()); // one at a time: the bound of 2 holds for the admin API too
    }
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, index) => post(users[index % users.length]?.token ?? '')),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 202 || status === 503)).toBe(true);
    expect(statuses).toContain(503);
    const accepted: string[] = [];
    for (const response of responses) {
      if (response.status === 202) {
        accepted.push(((await response.json()) as { id: string }).id);
      } else {
        await expectOverloaded(response);
      }
    }
    expect(accepted.length).toBeGreaterThan(0);
    const stored = await harness
      .db('cards')
      .whereIn(
        'user_id',
        users.map((user) => user.id),
      )
      .select<{ id: string }[]>('id');
    expect(stored.map((row) => row.id).sort()).toEqual([...accepted].sort());
    const outbox = await harness.db('outbox').whereIn('key', accepted).select<{ key: string }[]>('key');
    expect(outbox.map((row) => row.key).sort()).toEqual([...accepted].sort());
  });
});

describe('admission control: past its bound of held long-polls, a long-poll is 503 at once', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('admission-long-polls', {
      HTTP_MAX_IN_FLIGHT: '2',
      HTTP_MAX_LONG_POLLS: '2',
      LONG_POLL_MAX_SECONDS: '20',
    });
  });

  afterAll(() => harness.stop());

  it('when two long-polls are held, then a third is 503 OVERLOADED, while plain requests and probes still answer', async () => {
    const user = await harness.createUser();
    const created = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    const location = created.headers.get('location') ?? '';
    const controller = new AbortController();
    const poll = (signal?: AbortSignal) =>
      harness.request(location, {
        token: user.token,
        headers: { prefer: 'wait=20' },
        ...(signal && { signal }),
      });
    const holders = [poll(controller.signal), poll(controller.signal)].map((held) =>
      held.catch((error: unknown) => error),
    );
    try {
      await eventually(async () => {
        await expectOverloaded(await poll());
      });
      // Held long-polls gave back their in-flight slots: the bound of 2 still lets requests through.
      expect((await harness.request(location, { token: user.token })).status).toBe(200);
      expect((await harness.request('/v1/cards', { token: user.token })).status).toBe(200);
      await expectProbesAnswer(harness);
    } finally {
      controller.abort();
      await Promise.all(holders);
    }
    // Aborted polls give their slots back.
    await eventually(async () => {
      const response = await poll(AbortSignal.timeout(500)).catch((error: unknown) => error);
      expect((response as Error).name).toBe('TimeoutError');
    });
  });
});
