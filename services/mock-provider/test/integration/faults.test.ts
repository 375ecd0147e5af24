import {
  ProviderCardListSchema,
  ProviderCardSchema,
  ProviderErrorSchema,
  ProviderFaultsSchema,
  type ProviderFaults,
} from '@cards/contracts';
import { createTestDatabase, type TestDatabase } from '@cards/test-support';
import type { Knex } from 'knex';

import {
  buildCreateRequest,
  countCards,
  postCard,
  providerDatabase,
  setFaults,
  startProvider,
  type ProviderProcess,
} from '../support/mock-provider';

/** What the process is started with: a little latency, so a reset visibly returns to the environment's values. */
const ENV_FAULTS: ProviderFaults = {
  latencyMs: 5,
  errorRate: 0,
  rejectRate: 0,
  hangRate: 0,
  malformedRate: 0,
  createdThenMalformedRate: 0,
  createdThenHangRate: 0,
  cancelledThenMalformedRate: 0,
  listCutRate: 0,
  outage: false,
};

describe('fault injection', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-faults');
    provider = await startProvider('mock-provider-faults', database.url, {
      PROVIDER_LATENCY_MS: String(ENV_FAULTS.latencyMs),
      PROVIDER_HANG_MS: '2000',
    });
    db = providerDatabase(database.url);
  });

  afterEach(async () => {
    await fetch(`${provider.url}/control/faults/reset`, { method: 'POST' });
  });

  afterAll(async () => {
    await db.destroy();
    await provider.process.stop();
    await database.drop();
  });

  async function stats(): Promise<{ createRequests: number; createdCards: number }> {
    return (await (await fetch(`${provider.url}/control/stats`)).json()) as {
      createRequests: number;
      createdCards: number;
    };
  }

  async function expectError(response: Response, status: number, error: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(ProviderErrorSchema.parse(await response.json()).error).toBe(error);
  }

  it('when nothing was changed, then the faults are the environment-configured ones', async () => {
    const response = await fetch(`${provider.url}/control/faults`);

    expect(ProviderFaultsSchema.parse(await response.json())).toEqual(ENV_FAULTS);
  });

  it('when there is an outage, then every provider request is 503 and health and control still answer', async () => {
    await setFaults(provider.url, { outage: true });
    const request = buildCreateRequest();

    await expectError(await postCard(provider.url, request.reference, request), 503, 'service_unavailable');
    await expectError(await fetch(`${provider.url}/v1/cards/pc_any`), 503, 'service_unavailable');
    expect((await fetch(`${provider.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${provider.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${provider.url}/control/faults`)).status).toBe(200);
    expect(await countCards(db, request.reference)).toBe(0);
  });

  it('when the error rate is 1, then creates are 500 and create nothing', async () => {
    await setFaults(provider.url, { errorRate: 1 });
    const request = buildCreateRequest();

    await expectError(await postCard(provider.url, request.reference, request), 500, 'internal_error');
    expect(await countCards(db, request.reference)).toBe(0);
  });

  it('when the reject rate is 1, then creates are 422 card_rejected, create nothing, and reads still work', async () => {
    await setFaults(provider.url, { rejectRate: 1 });
    const request = buildCreateRequest();
    const before = await stats();

    await expectError(await postCard(provider.url, request.reference, request), 422, 'card_rejected');

    expect(await countCards(db, request.reference)).toBe(0);
    expect(await stats()).toEqual({
      createRequests: before.createRequests + 1,
      createdCards: before.createdCards,
    });
    const listed = await fetch(`${provider.url}/v1/cards?reference=${request.reference}`);
    expect(ProviderCardListSchema.parse(await listed.json()).data).toEqual([]);
  });

  it('when the malformed rate is 1, then a create is 2xx with a body that breaks the contract and no card', async () => {
    await setFaults(provider.url, { malformedRate: 1 });
    const request = buildCreateRequest();

    const response = await postCard(provider.url, request.reference, request);

    expect(response.status).toBe(201);
    expect(ProviderCardSchema.safeParse(await response.json()).success).toBe(false);
    expect(await countCards(db, request.reference)).toBe(0);
    const listed = await fetch(`${provider.url}/v1/cards`);
    expect(listed.status).toBe(200);
    expect(ProviderCardListSchema.safeParse(await listed.json()).success).toBe(false);
  });

  it('when creates lie with a broken body after the effect, then the answer breaks the contract but the card exists', async () => {
    await setFaults(provider.url, { createdThenMalformedRate: 1 });
    const request = buildCreateRequest();

    const response = await postCard(provider.url, request.reference, request);

    expect(response.status).toBe(201);
    expect(ProviderCardSchema.safeParse(await response.json()).success).toBe(false);
    expect(await countCards(db, request.reference)).toBe(1);
  });

  it('when creates hang after the effect, then a client with a 300 ms timeout gives up but the card exists', async () => {
    await setFaults(provider.url, { createdThenHangRate: 1 });
    const request = buildCreateRequest();

    await expect(
      postCard(provider.url, request.reference, request, { signal: AbortSignal.timeout(300) }),
    ).rejects.toHaveProperty('name', 'TimeoutError');

    expect(await countCards(db, request.reference)).toBe(1);
  });

  it('when cancels lie with a broken body after the effect, then the answer breaks the contract but the card is cancelled', async () => {
    const request = buildCreateRequest();
    const created = ProviderCardSchema.parse(
      await (await postCard(provider.url, request.reference, request)).json(),
    );
    await setFaults(provider.url, { cancelledThenMalformedRate: 1 });

    const response = await fetch(`${provider.url}/v1/cards/${created.id}/cancel`, { method: 'POST' });

    expect(response.status).toBe(200);
    expect(ProviderCardSchema.safeParse(await response.json()).success).toBe(false);
    await setFaults(provider.url, { cancelledThenMalformedRate: 0 });
    const card = ProviderCardSchema.parse(
      await (await fetch(`${provider.url}/v1/cards/${created.id}`)).json(),
    );
    expect(card.status).toBe('CANCELLED');
  });

  it('when lists are cut midway, then reading the body fails; single cards still read', async () => {
    const request = buildCreateRequest();
    const created = ProviderCardSchema.parse(
      await (await postCard(provider.url, request.reference, request)).json(),
    );
    await setFaults(provider.url, { listCutRate: 1 });

    const listed = await fetch(`${provider.url}/v1/cards?reference=${request.reference}`);

    await expect(listed.text()).rejects.toThrow();
    const single = await fetch(`${provider.url}/v1/cards/${created.id}`);
    expect(single.status).toBe(200);
  });

  it('when the hang rate is 1, then a client with a 300 ms timeout gives up and no card is created', async () => {
    await setFaults(provider.url, { hangRate: 1 });
    const request = buildCreateRequest();

    await expect(
      postCard(provider.url, request.reference, request, { signal: AbortSignal.timeout(300) }),
    ).rejects.toHaveProperty('name', 'TimeoutError');

    expect(await countCards(db, request.reference)).toBe(0);
  });

  it('when a hung request is waited out, then it finally answers 503 after the hang time', async () => {
    await setFaults(provider.url, { hangRate: 1 });
    const request = buildCreateRequest();
    const startedAt = Date.now();

    const response = await postCard(provider.url, request.reference, request);

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);
    await expectError(response, 503, 'service_unavailable');
    expect(await countCards(db, request.reference)).toBe(0);
  });

  it('when latency is 300 ms, then the answer takes at least that long and the card is created', async () => {
    await setFaults(provider.url, { latencyMs: 300 });
    const request = buildCreateRequest();
    const startedAt = Date.now();

    const response = await postCard(provider.url, request.reference, request);

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(response.status).toBe(201);
    expect(await countCards(db, request.reference)).toBe(1);
  });

  it('when every fault is on, then /healthz, /readyz and /control answer at once', async () => {
    await setFaults(provider.url, { latencyMs: 5000, errorRate: 1, hangRate: 1, outage: false });
    const startedAt = Date.now();

    const answers = await Promise.all(
      ['/healthz', '/readyz', '/control/faults', '/control/stats'].map((path) =>
        fetch(`${provider.url}${path}`),
      ),
    );

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(Date.now() - startedAt).toBeLessThan(4000);
  });

  it('when faults are changed in part, then only the given fields change', async () => {
    const changed = await setFaults(provider.url, { errorRate: 0.5 });

    expect(changed).toEqual({ ...ENV_FAULTS, errorRate: 0.5 });
    expect(await setFaults(provider.url, { outage: true })).toEqual({
      ...ENV_FAULTS,
      errorRate: 0.5,
      outage: true,
    });
  });

  it('when a fault change is invalid, then it is 400 and the settings stay as they were', async () => {
    for (const body of ['{"errorRate": 2}', '{"hangMs": 10}', '{"outage": "yes"}', '[]', '{']) {
      const response = await fetch(`${provider.url}/control/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(400);
      expect(ProviderErrorSchema.safeParse(await response.json()).success).toBe(true);
    }
    expect(await (await fetch(`${provider.url}/control/faults`)).json()).toEqual(ENV_FAULTS);
  });

  it('when faults are reset, then the environment-configured values are back', async () => {
    await setFaults(provider.url, { latencyMs: 0, errorRate: 1, rejectRate: 1, outage: true });

    const response = await fetch(`${provider.url}/control/faults/reset`, { method: 'POST' });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(ENV_FAULTS);
    const request = buildCreateRequest();
    expect((await postCard(provider.url, request.reference, request)).status).toBe(201);
  });
});
