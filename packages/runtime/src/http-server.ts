import { once } from 'node:events';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server that is listening, with the URL it answers on. */
export interface ListeningServer {
  server: Server;
  url: string;
  /** Stops accepting connections, closes idle keep-alive ones and resolves when in-flight requests are done. */
  close: () => Promise<void>;
}

/** How long a client may take to send its request; slow senders (slowloris) are cut off after it. */
export interface RequestTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

const defaultTimeouts: RequestTimeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** Listens on host:port (port 0 picks a free one, for tests) and resolves once the socket is bound. */
export async function listen(
  app: RequestListener,
  port: number,
  host: string,
  timeouts: RequestTimeouts = defaultTimeouts,
): Promise<ListeningServer> {
  const { createServer } = await import('node:http');
  // These bound receiving the request only; a long-poll's wait for its answer is not cut short by them.
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      // Node checks the two timeouts on this period (30 s by default), which would let a slow sender overstay.
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
    },
    app,
  );
  server.listen(port, host);
  await once(server, 'listening');
  const { port: boundPort } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) {
            reject(error);
          } else {
            resolve();
          }
        });
        server.closeIdleConnections();
      }),
  };
}
