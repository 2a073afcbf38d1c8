import { createSocket } from 'node:dgram';

/**
 * The address the kernel would use to reach the internet, found like nova's `_get_my_ip`: connect
 * a UDP socket (a route lookup; no packet leaves) and read its local address.
 */
export async function defaultRouteSourceIp(probe = '8.8.8.8'): Promise<string | null> {
  return await new Promise((resolvePromise) => {
    const sock = createSocket(probe.includes(':') ? 'udp6' : 'udp4');
    const done = (ip: string | null): void => {
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolvePromise(ip);
    };
    sock.on('error', () => done(null));
    sock.connect(80, probe, () => {
      try {
        done(sock.address().address);
      } catch {
        done(null);
      }
    });
  });
}
