/** The admin API client: bearer token, JSON in and out, problem+json errors as ApiError. */

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

export type Query = Record<string, string | number | undefined>;

/** Calls the admin API with one token. */
export class ApiClient {
  constructor(private readonly token: string) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.call<T>('GET', withQuery(path, query));
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${this.token}`,
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        cache: 'no-store',
        credentials: 'omit',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiError({
        status: 0,
        title: 'The card API cannot be reached',
        detail: 'No answer arrived (network failure). Check that card-api runs, then try again.',
      });
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      throw problemFrom(response, parsed);
    }
    if (parsed === undefined) {
      throw new ApiError({
        status: response.status,
        title: 'Unexpected answer',
        detail: `The API answered ${response.status} without a JSON body.`,
        requestId: response.headers.get('x-request-id') ?? undefined,
      });
    }
    return parsed as T;
  }
}

function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') {
      params.set(name, String(value));
    }
  }
  const encoded = params.toString();
  return encoded ? `${path}?${encoded}` : path;
}

function parseJson(text: string): unknown {
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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
