import { request } from 'node:http';

export interface ControlResponse {
  status: number;
  body: unknown;
}

/**
 * Linux `sun_path` is 108 bytes. A longer path is not refused by Node: it is cut short, so a
 * server would listen somewhere else than asked and clients would never find it. Linux takes
 * exactly 108 bytes without a terminating NUL, but not every client does (C code that copies the
 * path with its NUL, tools built on it), so the limit is 107: a path every client can reach.
 * Checked before listening or connecting.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/** null when `path` fits in a unix socket address, else why not (for "<what is wrong>; <what to do>"). */
export function socketPathProblem(path: string): string | null {
  const bytes = Buffer.byteLength(path);
  if (path === '') return 'the control socket path is empty';
  if (path.includes('\0')) return 'the control socket path contains a NUL byte';
  if (bytes > MAX_SOCKET_PATH_BYTES) return `the control socket path is ${bytes} bytes long, over the ${MAX_SOCKET_PATH_BYTES}-byte limit of a unix socket address`;
  return null;
}

export type ControlErrorCode = 'no-socket' | 'refused' | 'denied' | 'timeout' | 'path' | 'other';

/** Why the sidecar could not be reached; `code` lets callers (status) decide without parsing text. */
export class ControlError extends Error {
  constructor(
    message: string,
    readonly code: ControlErrorCode,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** One JSON request to a sidecar's control socket. */
export function controlRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000): Promise<ControlResponse> {
  const problem = socketPathProblem(socketPath);
  if (problem !== null) return Promise.reject(new ControlError(`${problem}: ${socketPath}`, 'path'));
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
    req.on('timeout', () => req.destroy(new ControlError(`no answer from ${socketPath} within ${timeoutMs} ms`, 'timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof ControlError) reject(err);
      else if (err.code === 'ENOENT') reject(new ControlError(`no sidecar socket at ${socketPath} (is 'nova-garp serve' running?)`, 'no-socket'));
      else if (err.code === 'ECONNREFUSED') reject(new ControlError(`nothing listens on ${socketPath} (stale socket; is 'nova-garp serve' running?)`, 'refused'));
      else if (err.code === 'EACCES') reject(new ControlError(`permission denied on ${socketPath} (the socket is mode 0660: run as root or its group)`, 'denied'));
      else if (err.code === 'ENOTSOCK' || err.code === 'ENOTDIR') reject(new ControlError(`${socketPath} is not a unix socket`, 'no-socket'));
      else reject(new ControlError(`${socketPath}: ${err.message}`, 'other'));
    });
    req.end(payload);
  });
}
