import { ProviderCardListSchema, ProviderCardSchema } from '@cards/contracts';
import { createTestDatabase, type TestDatabase } from '@cards/test-support';

import { buildCreateRequest, postCard, startProvider, type ProviderProcess } from '../support/mock-provider';

describe('provider cards across a restart', () => {
  let database: TestDatabase;
  const started: ProviderProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-restart');
  });

  afterAll(async () => {
    await Promise.all(started.map((provider) => provider.process.stop()));
    await database.drop();
  });

  async function start(): Promise<ProviderProcess> {
    const provider = await startProvider('mock-provider-restart', database.url);
    started.push(provider);
    return provider;
  }

  it('when the process is stopped and started again, then its cards and idempotency keys are still there', async () => {
    const before = await start();
    const request = buildCreateRequest();
    const created = ProviderCardSchema.parse(
      await (await postCard(before.url, request.reference, request)).json(),
    );

    expect(await before.process.stop()).toBe(0);
    const after = await start();

    const listed = await fetch(`${after.url}/v1/cards?reference=${request.reference}`);
    expect(ProviderCardListSchema.parse(await listed.json()).data).toEqual([created]);
    const replay = await postCard(after.url, request.reference, request);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual(created);
  });
});
