import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { RequestError, parseAnnounceRequest, parseEventRequest, type AnnounceRequest, type StartedEvent } from './announce-request.js';

export const DEFAULT_CONTROL_SOCKET = '/run/nova-garp/control.sock';
/** Requests are a few hundred bytes; a large reannounce list still fits comfortably. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ControlHandlers {
  /** Must answer at once: the hook waits for it inside nova-network's init_host. */
  started(ev: StartedEvent): { status: number; body: unknown };
  announce(req: AnnounceRequest): Promise<unknown>;
  status(): unknown;
  rejected(reason: string): void;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new RequestError(`body over ${MAX_BODY_BYTES} bytes`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestError(`body over ${MAX_BODY_BYTES} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch (err) {
        reject(new RequestError(`body is not JSON: ${(err as Error).message}`));
      }
    });
  });
}

/** HTTP/1.1 over a unix socket: the hook's and `nova-garp reannounce`'s way in. */
export async function startControlServer(path: string, handlers: ControlHandlers, gid: number | null = null): Promise<Server> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);
  const server = createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const fail = (err: unknown): void => {
      const status = err instanceof RequestError ? err.status : 500;
      handlers.rejected(status === 413 ? 'too_large' : status === 500 ? 'internal' : 'bad_request');
      send(res, status, { error: (err as Error).message });
    };
    switch (route) {
      case 'GET /healthz':
        send(res, 200, { ok: true });
        return;
      case 'GET /v1/status':
        send(res, 200, handlers.status());
        return;
      case 'POST /v1/events':
        readBody(req)
          .then((body) => {
            const r = handlers.started(parseEventRequest(body));
            send(res, r.status, r.body);
          })
          .catch(fail);
        return;
      case 'POST /v1/announce':
        readBody(req)
          .then(async (body) => send(res, 200, await handlers.announce(parseAnnounceRequest(body))))
          .catch(fail);
        return;
      default: {
        const known = ['/healthz', '/v1/status', '/v1/events', '/v1/announce'].includes((req.url ?? '').split('?')[0]!);
        handlers.rejected(known ? 'method' : 'not_found');
        send(res, known ? 405 : 404, { error: known ? `${req.method} not allowed here` : `no route ${req.url}` });
      }
    }
  });
  // A stuck client must not hold a connection (and memory) for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o660);
  // nova-network (user nova) must be able to connect: the socket belongs to its group.
  if (gid !== null) await chown(path, process.getuid?.() ?? 0, gid);
  return server;
}

/** A socket file left by a crashed sidecar is removed; one that answers belongs to a live one. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    await stat(path);
  } catch {
    return;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another nova-garp is already listening on ${path}`);
  await rm(path, { force: true });
}

export async function stopControlServer(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await rm(path, { force: true });
}
