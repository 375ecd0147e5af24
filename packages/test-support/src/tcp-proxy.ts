import { createServer, Socket, type Server } from 'node:net';

import { freeTcpPort } from './processes';

/**
 * A TCP proxy the fault tests control, standing between the services and Kafka or PostgreSQL: it can add latency
 * to every chunk, cut every open connection, and refuse new ones until restored. (Toxiproxy cannot be installed
 * here; this covers the faults the suite needs.)
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly connections = new Set<Socket>();
  private latencyToTargetMs = 0;
  private latencyToClientMs = 0;
  private refusing = false;
  /** Silenced: servers' ends are closed, clients' are left open and hear nothing (see silence()). */
  private silent = false;
  /** The server-side socket of each client's connection. */
  private readonly upstreams = new Map<Socket, Socket>();
  /** Chunks held back by latency and not yet forwarded. */
  private delayedChunks = 0;

  constructor(
    readonly listenPort: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.accept(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.listenPort, '127.0.0.1', () => {
        resolve();
      });
    });
  }

  /** Delays every chunk in both directions by `ms`. */
  setLatency(ms: number): void {
    this.latencyToTargetMs = ms;
    this.latencyToClientMs = ms;
  }

  /** Delays only what the target sends back: requests arrive and take effect, their answers come late. */
  setResponseLatency(ms: number): void {
    this.latencyToClientMs = ms;
  }

  /** Cuts every open connection and refuses new ones until restore(). */
  cut(): void {
    this.refusing = true;
    for (const socket of this.connections) {
      socket.destroy();
    }
  }

  /**
   * A link that dies silently (a host that vanished, a firewall dropping packets): every server sees its connection
   * end, while every client's connection stays open and hears nothing more, neither data nor a close, until its own
   * timeouts notice. New connections are refused until restore().
   */
  silence(): void {
    this.refusing = true;
    this.silent = true;
    for (const upstream of this.upstreams.values()) {
      upstream.destroy();
    }
  }

  /** Resolves once every chunk held back by latency has been forwarded (or dropped with its connection). */
  async delayedChunksForwarded(): Promise<void> {
    while (this.delayedChunks > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Accepts connections again, with no latency. */
  restore(): void {
    this.refusing = false;
    this.silent = false;
    this.latencyToTargetMs = 0;
    this.latencyToClientMs = 0;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => {
      if (this.server) {
        this.server.close(() => {
          resolve();
        });
      } else {
        resolve();
      }
    });
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    this.connections.add(client);
    this.connections.add(upstream);
    this.upstreams.set(client, upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(client);
      this.connections.delete(upstream);
      this.upstreams.delete(client);
    };
    const closeUnlessSilent = (): void => {
      if (this.silent) {
        // The client is not told: what it sends from now on goes nowhere.
        upstream.destroy();
        this.connections.delete(upstream);
        return;
      }
      close();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', closeUnlessSilent).on('close', closeUnlessSilent);
    this.pipe(client, upstream, () => this.latencyToTargetMs);
    this.pipe(upstream, client, () => this.latencyToClientMs);
    upstream.connect(this.target.port, this.target.host);
  }

  /** Forwards chunks in order, each after the latency in force when it arrived. */
  private pipe(from: Socket, to: Socket, latencyMs: () => number): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const delay = latencyMs();
      this.delayedChunks += 1;
      chain = chain.then(async () => {
        if (delay > 0) {
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
        if (!to.destroyed) {
          to.write(chunk);
        }
        this.delayedChunks -= 1;
      });
    });
  }
}

/**
 * Starts a TcpProxy on a free port in front of the server a URL names (a database URL, say) and returns the same URL
 * pointed at the proxy: a process given it loses its server when the test calls `proxy.cut()`.
 */
export async function proxyInFrontOf(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url);
  const proxy = new TcpProxy(await freeTcpPort(), {
    host: target.hostname,
    port: Number(target.port || 5432),
  });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.listenPort);
  return { proxy, url: viaProxy.toString() };
}
