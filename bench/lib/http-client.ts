import { Agent, request } from 'node:http';

/** One keep-alive pool for every request of the load generator: no connection set-up inside a measurement. */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 2048 });

/** An answer: status and parsed JSON body (undefined when the body is not JSON). */
export interface Answer {
  status: number;
  body: unknown;
}

/** A small HTTP/1.1 client on node:http: cheaper per request than fetch, which matters for a co-located generator. */
export function call(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 60_000, () => {
      req.destroy(new Error('request timed out'));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The `status` and `id` of a card answer, when the body is one. */
export function cardOf(body: unknown): { id: string; status: string } | undefined {
  if (typeof body === 'object' && body !== null && 'id' in body && 'status' in body) {
    const { id, status } = body;
    if (typeof id === 'string' && typeof status === 'string') {
      return { id, status };
    }
  }
  return undefined;
}

/** Closes idle keep-alive sockets, so the process can exit. */
export function closeClient(): void {
  agent.destroy();
}
