import koffi from 'koffi';
import { readSync, writeSync } from 'node:fs';
import { libc } from '../../src/link/libc.js';

const POLLIN = 0x1;

/**
 * The stdio of the lab's child processes (prober, router watcher): commands in as lines on stdin,
 * read with blocking reads only when poll(2) said stdin is readable, results out as JSON lines on
 * stdout. Their main loop is a poll over sockets, not Node's event loop.
 */

/** CLOCK_MONOTONIC in ms: the clock the lab's t0, probes and watcher events share. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One JSON line on stdout, written whole even when the pipe is full. */
export function emit(obj: unknown): void {
  const buf = Buffer.from(JSON.stringify(obj) + '\n');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/** Line reader over stdin (blocking reads, only after poll(2) said it is readable). */
export class StdinLines {
  private buf = '';
  closed = false;
  private readonly chunk = Buffer.alloc(65536);

  fill(): void {
    try {
      const n = readSync(0, this.chunk, 0, this.chunk.length, null);
      if (n === 0) this.closed = true;
      else this.buf += this.chunk.toString('utf8', 0, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.closed = true;
    }
  }

  next(): string | null {
    const nl = this.buf.indexOf('\n');
    if (nl < 0) return null;
    const line = this.buf.slice(0, nl).trim();
    this.buf = this.buf.slice(nl + 1);
    return line;
  }

  /** Blocks (in poll(2) on stdin) until a whole line arrived; null when stdin closed first. */
  waitLine(): string | null {
    const mem = koffi.alloc('uint8_t', 8);
    const view = new DataView(koffi.view(mem, 8));
    try {
      for (;;) {
        const line = this.next();
        if (line !== null) return line;
        if (this.closed) return null;
        view.setInt32(0, 0, true);
        view.setInt16(4, POLLIN, true);
        view.setInt16(6, 0, true);
        if ((libc.poll(Number(koffi.address(mem)), 1, 1000) as number) > 0) this.fill();
      }
    } finally {
      koffi.free(mem);
    }
  }
}
