import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * Network namespaces have their own loopback, so a sidecar in one cannot reach the machine's
 * MariaDB/RabbitMQ on 127.0.0.1. This relay listens on an address the namespace can reach (the
 * root end of a veth) and forwards to the service; the service sees a loopback client, as a
 * co-located nova host's would.
 */
export class TcpRelay {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(listenHost: string, targetHost: string, targetPort: number): Promise<TcpRelay> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
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
    return new TcpRelay(server, (server.address() as { port: number }).port, sockets);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
