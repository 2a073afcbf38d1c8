import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { RequestError, parseAnnounceRequestInTurns, parseEventRequest, type AnnounceRequest, type StartedEvent } from './announce-request.js';

export const DEFAULT_CONTROL_SOCKET = '/run/nova-garp/control.sock';
/**
 * Requests are a few hundred bytes; the largest reannounce list (100,000 addresses) is about
 * 1.6 MB. Parsing JSON cannot be split, so the cap also bounds how long one body holds the event
 * loop (2 MiB: about 10 ms here).
 */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Beyond this many open connections, everything but the hook and /healthz gets 503. */
export const SOFT_CONNECTION_CAP = 64;
/** Beyond this many, new connections are closed at once (file descriptors are finite). */
export const HARD_CONNECTION_CAP = 1024;

export interface ControlHandlers {
  /** Must answer at once: the hook waits for it inside nova-network's init_host. */
  started(ev: StartedEvent): { status: number; body: unknown };
  announce(req: AnnounceRequest): Promise<unknown>;
  /** `targets`: the ?targets= query (all, unbound, none), or null. */
  status(targets: string | null): unknown;
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
        // The rest is read and dropped (see afterBody): the client gets its 413, not a reset.
        chunks.length = 0;
        reject(new RequestError(`body over ${MAX_BODY_BYTES} bytes`, 413));
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

/** How long the rest of a refused body is read and dropped before the answer (and the close). */
const DRAIN_MS = 1000;

/**
 * Runs `answer` once the client has sent its whole body (read and dropped), for at most DRAIN_MS.
 * Answering and closing while the client still writes resets the connection: the client's write
 * fails (EPIPE) and the answer it had not read yet is lost with the reset.
 */
function afterBody(req: IncomingMessage, answer: () => void): void {
  if (req.complete || req.destroyed) {
    answer();
    return;
  }
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    answer();
  };
  const timer = setTimeout(finish, DRAIN_MS);
  req.once('end', finish);
  req.once('error', finish);
  req.resume();
}

/** HTTP/1.1 over a unix socket: the hook's and `nova-garp reannounce`'s way in. */
export async function startControlServer(path: string, handlers: ControlHandlers, gid: number | null = null): Promise<Server> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);
  let open = 0;
  const server = createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    // The hook's path stays open under a flood: nova-network waits on it inside init_host.
    if (open > SOFT_CONNECTION_CAP && route !== 'POST /v1/events' && route !== 'GET /healthz') {
      handlers.rejected('busy');
      send(res, 503, { error: `over ${SOFT_CONNECTION_CAP} open connections; retry later` });
      return;
    }
    const fail = (err: unknown): void => {
      const status = err instanceof RequestError ? err.status : 500;
      handlers.rejected(status === 413 ? 'too_large' : status === 500 ? 'internal' : 'bad_request');
      if (status === 413) afterBody(req, () => send(res, status, { error: (err as Error).message }));
      else send(res, status, { error: (err as Error).message });
    };
    switch (route) {
      case 'GET /healthz':
        send(res, 200, { ok: true });
        return;
      case 'GET /v1/status':
        send(res, 200, handlers.status(new URL(req.url ?? '/', 'http://control').searchParams.get('targets')));
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
          .then(async (body) => send(res, 200, await handlers.announce(await parseAnnounceRequestInTurns(body))))
          .catch(fail);
        return;
      default: {
        const known = ['/healthz', '/v1/status', '/v1/events', '/v1/announce'].includes((req.url ?? '').split('?')[0]!);
        handlers.rejected(known ? 'method' : 'not_found');
        send(res, known ? 405 : 404, { error: known ? `${req.method} not allowed here` : `no route ${req.url}` });
      }
    }
  });
  server.on('connection', (socket) => {
    if (open >= HARD_CONNECTION_CAP) {
      handlers.rejected('too_many_connections');
      socket.destroy();
      return;
    }
    open++;
    socket.once('close', () => open--);
  });
  // Node answers malformed HTTP, oversized headers and timeouts itself; count them like our own rejections.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const [status, reason] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'timeout'] : [400, 'bad_http'];
    handlers.rejected(reason);
    if (socket.writable && !socket.destroyed) socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
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
