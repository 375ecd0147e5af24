import { ProviderErrorSchema } from '@cards/contracts';
import { createTestDatabase, type TestDatabase } from '@cards/test-support';

import { buildCreateRequest, postCard, startProvider, type ProviderProcess } from '../support/mock-provider';

describe('POST /v1/cards, refused requests', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;

  beforeAll(async () => {
    database = await createTestDatabase('mock-provider-validation');
    provider = await startProvider('mock-provider-validation', database.url);
  });

  afterAll(async () => {
    await provider.process.stop();
    await database.drop();
  });

  async function expectError(response: Response, status: number, error: string): Promise<string> {
    expect(response.status).toBe(status);
    const body = ProviderErrorSchema.parse(await response.json());
    expect(body.error).toBe(error);
    return body.message;
  }

  it('when the Idempotency-Key header is missing, then it is 400 missing_idempotency_key', async () => {
    await expectError(
      await postCard(provider.url, undefined, buildCreateRequest()),
      400,
      'missing_idempotency_key',
    );
  });

  it('when the Idempotency-Key is over 200 characters, then it is 400 invalid_idempotency_key', async () => {
    const response = await postCard(provider.url, 'k'.repeat(201), buildCreateRequest());

    await expectError(response, 400, 'invalid_idempotency_key');
  });

  it('when the body breaks the contract, then it is 400 invalid_request naming the field', async () => {
    const response = await postCard(provider.url, 'key-bad-colour', {
      ...buildCreateRequest(),
      color: 'plaid',
    });

    expect(await expectError(response, 400, 'invalid_request')).toContain('color');
  });

  it('when the body has an unknown field, then it is 400 invalid_request', async () => {
    const response = await postCard(provider.url, 'key-extra', {
      ...buildCreateRequest(),
      pan: '4111111111111111',
    });

    await expectError(response, 400, 'invalid_request');
  });

  it('when the body is not JSON, then it is 400 malformed_json', async () => {
    await expectError(await postCard(provider.url, 'key-json', '{"color": '), 400, 'malformed_json');
  });

  it('when the body is over 16 kB, then it is 413 payload_too_large', async () => {
    const response = await postCard(provider.url, 'key-large', { padding: 'x'.repeat(17 * 1024) });

    await expectError(response, 413, 'payload_too_large');
  });

  it('when no route matches, then it is 404 with a ProviderError body', async () => {
    await expectError(await fetch(`${provider.url}/v2/cards`), 404, 'route_not_found');
  });
});
