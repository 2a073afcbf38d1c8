import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Network namespaces have their own loopback, so a process in one cannot reach the machine's
 * MariaDB/RabbitMQ on 127.0.0.1. A relay listens on an address the namespace can reach (the root
 * end of a veth) and forwards to the service, which then sees a loopback client.
 */
export class TcpRelay {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
    private readonly state: { cut: boolean },
  ) {}

  static async start(listenHost: string, target: Endpoint | { path: string }): Promise<TcpRelay> {
    const sockets = new Set<Socket>();
    const state = { cut: false };
    const server = createServer((client) => {
      if (state.cut) {
        client.destroy();
        return;
      }
      const upstream = 'path' in target ? connect(target.path) : connect(target.port, target.host);
      sockets.add(client);
      sockets.add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, listenHost, () => resolve());
    });
    return new TcpRelay(server, (server.address() as { port: number }).port, sockets, state);
  }

  /** An outage: open connections are reset and new ones refused until restore(). */
  cut(): void {
    this.state.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.state.cut = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

