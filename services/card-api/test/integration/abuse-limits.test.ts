import { connect } from 'node:net';

import { ProblemSchema } from '@cards/contracts';
import { eventually } from '@cards/test-support';

import { start as startApi, type RunningApi } from '../../src/main-api';
import { buildCardRequest, startCardApi, type CardApiHarness } from '../support/card-api';

async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(ProblemSchema.parse(await response.json()).code).toBe(code);
}

describe('rate limits on card requests: per user across replicas, per client address per replica', () => {
  let harness: CardApiHarness;
  let secondReplica: RunningApi;

  beforeAll(async () => {
    harness = await startCardApi('rate-limits', {
      RATE_LIMIT_CARD_CREATE_PER_USER: '3',
      RATE_LIMIT_CARD_CREATE_PER_IP: '5',
      RATE_LIMIT_WINDOW_SECONDS: '300',
      CARD_LIMIT_PER_USER: '100',
    });
    // A second card-api over the same database, as a second replica behind a load balancer would be.
    secondReplica = await startApi(harness.config);
  });

  afterAll(async () => {
    await secondReplica.stop();
    await harness.stop();
  });

  function requestCard(replica: string, token: string): Promise<Response> {
    return fetch(`${replica}/v1/cards`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: buildCardRequest(),
    });
  }

  async function cardsOf(userId: string): Promise<number> {
    const [row] = await harness
      .db('cards')
      .where({ user_id: userId })
      .count<{ count: string }[]>('* as count');
    return Number(row?.count);
  }

  it('when one user spreads requests over two replicas, then the limit counts them together and the excess is 429 with Retry-After', async () => {
    const user = await harness.createUser();
    const replicas = [harness.api.url, secondReplica.url];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await requestCard(replicas[attempt % 2] ?? '', user.token)).status).toBe(202);
    }
    const refused = await requestCard(replicas[1] ?? '', user.token);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    await expectProblem(refused, 429, 'RATE_LIMITED');
    await expectProblem(await requestCard(replicas[0] ?? '', user.token), 429, 'RATE_LIMITED');
    expect(await cardsOf(user.id)).toBe(3);
  });

  it('when many users share one client address, then the per-address limit of a replica stops them together', async () => {
    // The per-address count is each replica's own (kept in memory): the previous test spent 3 of this address's 5
    // points on the first replica (2 accepted, 1 refused) and 2 on the second. New users each start at zero.
    const [first, second, third] = [
      await harness.createUser(),
      await harness.createUser(),
      await harness.createUser(),
    ];
    expect((await requestCard(harness.api.url, first.token)).status).toBe(202);
    expect((await requestCard(harness.api.url, second.token)).status).toBe(202);
    await expectProblem(await requestCard(harness.api.url, third.token), 429, 'RATE_LIMITED');
    expect(await cardsOf(third.id)).toBe(0);
  });
});

describe('long-polls per user', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('long-poll-limit', {
      LONG_POLL_MAX_CONCURRENT_PER_USER: '2',
      LONG_POLL_MAX_SECONDS: '20',
    });
  });

  afterAll(() => harness.stop());

  it('when a user holds the maximum of long-polls, then one more is 429 at once, and a slot frees when a poll ends', async () => {
    const user = await harness.createUser();
    const other = await harness.createUser();
    const created = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    const location = created.headers.get('location') ?? '';
    const poll = (token: string, signal?: AbortSignal): Promise<Response> =>
      harness.request(location, { token, headers: { prefer: 'wait=20' }, ...(signal && { signal }) });

    /** A long-poll the test holds open; `settled` once it ended (answered, refused or aborted). */
    const hold = () => {
      const controller = new AbortController();
      const holder = { controller, settled: false, done: Promise.resolve<unknown>(undefined) };
      holder.done = poll(user.token, controller.signal)
        .catch((error: unknown) => error)
        .finally(() => {
          holder.settled = true;
        });
      return holder;
    };
    let held = [hold(), hold()];
    // Both are held: a third is refused at once, while a plain read and another user's poll are not affected.
    await eventually(async () => {
      // A probe admitted before both holders arrived takes a slot, so a holder may be the one refused: re-open any
      // holder that ended, and try again once the probe (abandoned after a second) has given its slot back.
      held = held.map((holder) => (holder.settled ? hold() : holder));
      const third = await poll(user.token, AbortSignal.timeout(1000));
      expect(third.headers.get('retry-after')).toBe('1');
      await expectProblem(third, 429, 'LONG_POLL_LIMIT_REACHED');
    });
    expect((await harness.request(location, { token: user.token })).status).toBe(200);
    expect((await poll(other.token)).status).toBe(404);

    const [first, second] = held;
    first?.controller.abort();
    await first?.done;
    const freed = new AbortController();
    await eventually(async () => {
      const response = await poll(
        user.token,
        AbortSignal.any([freed.signal, AbortSignal.timeout(500)]),
      ).catch((error: unknown) => error);
      // Still waiting after 500 ms means it was admitted (a refusal answers at once). The abort error comes from
      // fetch's realm, not jest's, so it is told by its name.
      expect((response as Error).name).toBe('TimeoutError');
    });
    second?.controller.abort();
    await second?.done;
  });
});

describe('database and HTTP timeouts', () => {
  let harness: CardApiHarness;

  beforeAll(async () => {
    harness = await startCardApi('timeouts', {
      DATABASE_POOL_MAX: '1',
      // The statement timeout outlasts the acquire timeout, so a blocked request holds its connection long enough.
      DATABASE_ACQUIRE_TIMEOUT_MS: '300',
      DATABASE_STATEMENT_TIMEOUT_MS: '2500',
      HTTP_HEADERS_TIMEOUT_MS: '500',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      LONG_POLL_MAX_SECONDS: '3',
    });
  });

  afterAll(() => harness.stop());

  it('when a statement waits on a lock past the statement timeout, then it is 503 with Retry-After, and the service recovers', async () => {
    const user = await harness.createUser();
    const locker = await harness.db.transaction();
    try {
      // Card requests lock the user's row; holding it here makes the API's statement wait.
      await locker('users').where({ id: user.id }).forUpdate().select('id');
      const blocked = await harness.request('/v1/cards', {
        method: 'POST',
        token: user.token,
        body: buildCardRequest(),
      });
      expect(blocked.headers.get('retry-after')).toBe('2');
      await expectProblem(blocked, 503, 'SERVICE_UNAVAILABLE');
    } finally {
      await locker.rollback();
    }
    const [cards] = await harness
      .db('cards')
      .where({ user_id: user.id })
      .count<{ count: string }[]>('* as count');
    expect(Number(cards?.count)).toBe(0);
    expect(
      (await harness.request('/v1/cards', { method: 'POST', token: user.token, body: buildCardRequest() }))
        .status,
    ).toBe(202);
  });

  it('when every pooled connection is busy past the acquire timeout, then a request is 503 instead of queueing for ever', async () => {
    const user = await harness.createUser();
    const locker = await harness.db.transaction();
    try {
      await locker('users').where({ id: user.id }).forUpdate().select('id');
      // The card request holds the pool's only connection while it waits on the lock; the list cannot get one.
      const blocked = harness.request('/v1/cards', {
        method: 'POST',
        token: user.token,
        body: buildCardRequest(),
      });
      await eventually(async () => {
        await expectProblem(
          await harness.request('/v1/cards', { token: user.token }),
          503,
          'SERVICE_UNAVAILABLE',
        );
      });
      await blocked;
    } finally {
      await locker.rollback();
    }
    expect((await harness.request('/v1/cards', { token: user.token })).status).toBe(200);
  });

  it('when a client sends its headers too slowly, then the server answers 408 and closes the connection', async () => {
    const { port } = new URL(harness.api.url);
    const outcome = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
        // A request line and one header, then nothing: the end of the headers never comes.
        socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
      });
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        received += chunk;
      });
      socket.on('close', () => {
        resolve(received);
      });
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept a stalled request open for 15 s'));
      }, 15_000);
    });
    expect(outcome).toMatch(/^HTTP\/1\.1 408/);
  });

  it('when a long-poll waits longer than the request timeout, then it is not cut: the timeout covers receiving the request only', async () => {
    const user = await harness.createUser();
    const created = await harness.request('/v1/cards', {
      method: 'POST',
      token: user.token,
      body: buildCardRequest(),
    });
    const startedAt = Date.now();
    const polled = await harness.request(created.headers.get('location') ?? '', {
      token: user.token,
      headers: { prefer: 'wait=3' },
    });
    expect(polled.status).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);
  });
});
