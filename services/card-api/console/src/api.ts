/** The admin API as the console calls it: @cards/client's typed client, its failures as ApiError. */
import { createCardsClient, type CardsClient } from '@cards/client';

/** Why a call failed: the API's problem details, or no answer at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly title: string;
  readonly detail: string | undefined;
  readonly requestId: string | undefined;

  constructor(options: {
    status: number;
    title: string;
    code?: string;
    detail?: string;
    requestId?: string;
  }) {
    super(options.detail ? `${options.title}: ${options.detail}` : options.title);
    this.name = 'ApiError';
    this.status = options.status;
    this.title = options.title;
    this.code = options.code;
    this.detail = options.detail;
    this.requestId = options.requestId;
  }

  /** The token was refused (401) or is not an administrator's (403): the console returns to sign-in. */
  get refusesSession(): boolean {
    return this.status === 401 || this.status === 403;
  }

  /** No HTTP answer arrived. */
  get isNetworkFailure(): boolean {
    return this.status === 0;
  }
}

/** The sign-in message for a refused token. */
export function sessionMessage(error: ApiError): string {
  return error.status === 403
    ? 'This token does not belong to an administrator.'
    : 'This token is not valid or has expired.';
}

/** The admin API, typed from the OpenAPI document: @cards/client's openapi-fetch client, bundled into the console. */
export type AdminApi = CardsClient['api'];

/**
 * The API for one token. No retries: the console shows a failure at once and the operator decides (a replay of dead
 * letters is not idempotent); nothing is cached, and no cookie is sent (the token is the only credential).
 */
export function createAdminApi(token: string): AdminApi {
  return createCardsClient({
    baseUrl: globalThis.location.origin,
    token,
    maxRetries: 0,
    fetch: (input, init) => fetch(input, { ...init, cache: 'no-store', credentials: 'omit' }),
  }).api;
}

/** What an openapi-fetch call resolves to. */
interface CallResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's body, or the failure as an ApiError: the API's problem details, or "no answer at all". */
export async function answer<T>(call: Promise<CallResult<T>>): Promise<T> {
  let result: CallResult<T>;
  try {
    result = await call;
  } catch {
    throw new ApiError({
      status: 0,
      title: 'The card API cannot be reached',
      detail: 'No answer arrived (network failure). Check that card-api runs, then try again.',
    });
  }
  const { response } = result;
  if (!response.ok) {
    throw problemFrom(response, result.error);
  }
  if (result.data === undefined) {
    throw new ApiError({
      status: response.status,
      title: 'Unexpected answer',
      detail: `The API answered ${response.status} without a JSON body.`,
      requestId: response.headers.get('x-request-id') ?? undefined,
    });
  }
  return result.data;
}

function problemFrom(response: Response, body: unknown): ApiError {
  const problem = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return new ApiError({
    status: response.status,
    title: text(problem['title']) ?? (response.statusText || `HTTP ${response.status}`),
    code: text(problem['code']),
    detail: text(problem['detail']),
    requestId: text(problem['requestId']) ?? response.headers.get('x-request-id') ?? undefined,
  });
}
