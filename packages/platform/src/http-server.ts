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

/** Listens on host:port (port 0 picks a free one, for tests) and resolves once the socket is bound. */
export async function listen(app: RequestListener, port: number, host: string): Promise<ListeningServer> {
  const { createServer } = await import('node:http');
  const server = createServer(app);
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
