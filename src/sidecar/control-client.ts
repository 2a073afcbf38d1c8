import { request } from 'node:http';

export interface ControlResponse {
  status: number;
  body: unknown;
}

/** One JSON request to a sidecar's control socket. */
export function controlRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Non-JSON answers are passed through as text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new Error(`no sidecar socket at ${socketPath} (is 'nova-garp serve' running?)`));
      else if (err.code === 'ECONNREFUSED') reject(new Error(`nothing listens on ${socketPath} (stale socket; is 'nova-garp serve' running?)`));
      else if (err.code === 'EACCES') reject(new Error(`permission denied on ${socketPath} (the socket is mode 0660: run as root or its group)`));
      else reject(err);
    });
    req.end(payload);
  });
}
