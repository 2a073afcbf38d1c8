import { constants } from 'node:os';
import {
  AF_NETLINK,
  errnoName,
  int32,
  IOVEC_SIZE,
  lastErrno,
  libc,
  MMSGHDR_SIZE,
  MSG_DONTWAIT,
  NativeMemory,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SocketError,
  SOL_SOCKET,
} from './libc.js';
import { dumpRequest, parseNetlink, RTM_GETADDR, RTM_GETLINK, type RtMessage } from './rtnetlink.js';

/**
 * rtnetlink sockets, through the one libc binding (libc.ts). Sockets belong to the network namespace of the thread that
 * opens them, so opening under `ip netns exec` (or after setns) watches that namespace.
 */

const NETLINK_ROUTE = 0;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const MSG_TRUNC = 0x20;
const MSG_WAITFORONE = 0x10000;
const POLLIN = 0x1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;

const { EAGAIN, EINTR, ENOBUFS } = constants.errno;

export class NetlinkError extends SocketError {}

function sockaddrNl(groups: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(8, groups, true); // pid 0: the kernel assigns our port id
  return b;
}

function openSocket(nonBlocking: boolean, groups: number): number {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), NETLINK_ROUTE) as number;
  if (fd < 0) {
    const errno = lastErrno();
    throw new NetlinkError(`socket(AF_NETLINK, NETLINK_ROUTE) failed: ${errnoName(errno)}`, errno);
  }
  if ((libc.bind(fd, sockaddrNl(groups), 12) as number) < 0) {
    const errno = lastErrno();
    libc.close(fd);
    throw new NetlinkError(`binding the netlink socket (groups 0x${groups.toString(16)}) failed: ${errnoName(errno)}`, errno);
  }
  return fd;
}

/**
 * The kernel sizes dump datagrams up to the reader's buffer, capped at 32 KiB; a link notification
 * with many VFs can approach that too. A datagram larger than a slot arrives truncated (reported).
 */
const SLOT_SIZE = 32 * 1024;

/** Native slots for recvmmsg(2): one syscall takes up to `count` datagrams. */
class ReceiveRing {
  private readonly mem: NativeMemory;
  private readonly hdrs: number;

  constructor(readonly count: number) {
    this.hdrs = count * SLOT_SIZE;
    const iovs = this.hdrs + count * MMSGHDR_SIZE;
    const total = iovs + count * IOVEC_SIZE;
    this.mem = new NativeMemory(total);
    const m = this.mem;
    m.bytes.fill(0, this.hdrs);
    for (let i = 0; i < count; i++) {
      const iov = iovs + i * IOVEC_SIZE;
      m.put64(iov, m.base + i * SLOT_SIZE);
      m.put64(iov + 8, SLOT_SIZE);
      const h = this.hdrs + i * MMSGHDR_SIZE;
      m.put64(h + 16, m.base + iov); // msg_iov
      m.put64(h + 24, 1); // msg_iovlen
    }
  }

  get vector(): number {
    return this.mem.base + this.hdrs;
  }

  /** Datagram i of the last recvmmsg (a view: valid until the next call). */
  datagram(i: number): Uint8Array {
    const len = this.mem.view.getUint32(this.hdrs + i * MMSGHDR_SIZE + 56, true);
    return this.mem.bytes.subarray(i * SLOT_SIZE, i * SLOT_SIZE + Math.min(len, SLOT_SIZE));
  }

  truncated(i: number): boolean {
    return (this.mem.view.getInt32(this.hdrs + i * MMSGHDR_SIZE + 48, true) & MSG_TRUNC) !== 0;
  }

  reset(i: number): void {
    this.mem.view.setInt32(this.hdrs + i * MMSGHDR_SIZE + 48, 0, true); // msg_flags is output only, but be tidy
  }

  free(): void {
    this.mem.free();
  }
}

export interface ReceiveResult {
  /** Parsed messages in arrival order (appended to the caller's array when one was passed). */
  messages: RtMessage[];
  datagrams: number;
  /** The kernel dropped notifications (ENOBUFS): only a fresh dump is trustworthy now. */
  overflow: boolean;
  /** A datagram did not fit a slot: its tail was lost, which is as bad as an overflow. */
  truncated: boolean;
}

export interface ListenerOptions {
  groups?: number;
  /** Receive buffer: a failover's `ip -batch` queues thousands of notifications at once. */
  receiveBuffer?: number;
}

/** A non-blocking multicast listener for link and address notifications. */
export class NetlinkListener {
  private fd: number;
  private readonly ring = new ReceiveRing(64);
  /** Wakes a pending poll at once on close, so stop() need not wait for the poll timeout. */
  private readonly wakeFd: number;
  /** Two struct pollfd: the socket and wakeFd. */
  private readonly pollMem = new NativeMemory(16);
  private polling = false;
  private closing = false;
  /** Receive buffer the kernel granted (it reports twice the requested size, for bookkeeping). */
  readonly receiveBuffer: number;

  private constructor(fd: number, requested: number) {
    this.fd = fd;
    // SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN; without it rmem_max caps SO_RCVBUF.
    if ((libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(requested), 4) as number) < 0) libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int32(requested), 4);
    const got = [0];
    const len = [4];
    libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, got, len);
    this.receiveBuffer = got[0] ?? 0;
    this.wakeFd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) as number;
    if (this.wakeFd < 0) {
      const errno = lastErrno();
      libc.close(fd);
      this.ring.free();
      this.pollMem.free();
      throw new NetlinkError(`eventfd failed: ${errnoName(errno)}`, errno);
    }
    this.pollMem.view.setInt32(0, fd, true);
    this.pollMem.view.setInt16(4, POLLIN, true);
    this.pollMem.view.setInt32(8, this.wakeFd, true);
    this.pollMem.view.setInt16(12, POLLIN, true);
  }

  static open(options: ListenerOptions = {}): NetlinkListener {
    const fd = openSocket(true, options.groups ?? RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
    return new NetlinkListener(fd, options.receiveBuffer ?? 16 * 1024 * 1024);
  }

  /**
   * Reads every queued notification without blocking (recvmmsg until EAGAIN). Cheap when idle: one
   * syscall that returns EAGAIN.
   */
  recvAll(out: RtMessage[] = []): ReceiveResult {
    if (this.fd < 0) throw new NetlinkError('netlink listener used after close', constants.errno.EBADF);
    const result: ReceiveResult = { messages: out, datagrams: 0, overflow: false, truncated: false };
    for (;;) {
      const n = libc.recvmmsg(this.fd, this.ring.vector, this.ring.count, MSG_DONTWAIT, 0) as number;
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) return result;
        if (errno === EINTR) continue;
        // Reported once, then the socket keeps receiving: read on so the queue is empty again.
        if (errno === ENOBUFS) {
          result.overflow = true;
          continue;
        }
        throw new NetlinkError(`recvmmsg on the netlink listener failed: ${errnoName(errno)}`, errno);
      }
      for (let i = 0; i < n; i++) {
        if (this.ring.truncated(i)) {
          result.truncated = true;
          this.ring.reset(i);
        }
        parseNetlink(this.ring.datagram(i), out);
      }
      // Even after a short batch, loop: more may have arrived meanwhile, and EAGAIN is one cheap call.
      result.datagrams += n;
    }
  }

  /**
   * Calls `onReadable` on the main thread whenever notifications are queued, until close(). poll(2)
   * runs on a koffi worker thread with a bounded timeout and is re-armed in a loop; it does not
   * consume anything, `onReadable` is expected to recvAll().
   */
  watch(onReadable: () => void, onError: (e: Error) => void, timeoutMs = 500): void {
    if (this.polling || this.fd < 0) return;
    this.polling = true;
    const arm = (): void => {
      this.pollMem.view.setInt16(6, 0, true);
      this.pollMem.view.setInt16(14, 0, true);
      libc.poll.async(this.pollMem.base, 2, timeoutMs, (err: unknown, res: number) => {
        if (this.closing) {
          this.polling = false;
          this.release();
          return;
        }
        if (err !== null && err !== undefined) {
          this.polling = false;
          onError(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (res > 0 && this.pollMem.view.getInt16(6, true) !== 0) {
          try {
            onReadable();
          } catch (e) {
            onError(e as Error);
          }
        }
        if (this.closing) {
          this.polling = false;
          this.release();
          return;
        }
        arm();
      });
    };
    arm();
  }

  /** Closes now, or as soon as the pending poll returns (closing an fd another thread polls could hit a reused fd). */
  close(): void {
    if (this.closing || this.fd < 0) return;
    this.closing = true;
    if (this.polling) {
      const one = new Uint8Array(8);
      one[0] = 1;
      libc.write(this.wakeFd, one, 8);
      return;
    }
    this.release();
  }

  get closed(): boolean {
    return this.closing;
  }

  private release(): void {
    if (this.fd < 0) return;
    libc.close(this.fd);
    libc.close(this.wakeFd);
    this.fd = -1;
    this.ring.free();
    this.pollMem.free();
  }
}

export interface DumpOptions {
  /** Bound on each blocking read: the kernel answers a dump synchronously, so silence means trouble. */
  timeoutMs?: number;
  /** Dumps retried when the kernel flags one as interrupted by concurrent changes. */
  attempts?: number;
}

/**
 * A blocking socket for RTM_GETLINK/RTM_GETADDR dumps. Keep one per watcher: it stays in the
 * namespace it was opened in, like the listener.
 */
export class NetlinkDumper {
  private fd: number;
  private seq = Math.floor(Date.now() / 1000) >>> 0;
  private readonly ring = new ReceiveRing(16);

  private constructor(
    fd: number,
    private readonly options: Required<DumpOptions>,
  ) {
    this.fd = fd;
  }

  static open(options: DumpOptions = {}): NetlinkDumper {
    const fd = openSocket(false, 0);
    const timeoutMs = options.timeoutMs ?? 5000;
    const tv = new Uint8Array(16);
    const v = new DataView(tv.buffer);
    v.setUint32(0, Math.floor(timeoutMs / 1000), true);
    v.setUint32(8, (timeoutMs % 1000) * 1000, true);
    libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
    return new NetlinkDumper(fd, { timeoutMs, attempts: options.attempts ?? 5 });
  }

  /**
   * Every link, then every address, of the socket's namespace, as parsed messages (done/error
   * markers removed). Retries a dump the kernel flags as inconsistent.
   */
  dump(): RtMessage[] {
    for (let attempt = 1; ; attempt++) {
      const out: RtMessage[] = [];
      const linksIntr = this.dumpOne(RTM_GETLINK, out);
      const addrsIntr = this.dumpOne(RTM_GETADDR, out);
      if (!linksIntr && !addrsIntr) return out;
      if (attempt >= this.options.attempts) throw new NetlinkError(`netlink dump interrupted ${attempt} times by concurrent changes`, constants.errno.EINTR);
    }
  }

  /** One dump request answered up to NLMSG_DONE; returns whether the kernel flagged it interrupted. */
  private dumpOne(type: typeof RTM_GETLINK | typeof RTM_GETADDR, out: RtMessage[]): boolean {
    if (this.fd < 0) throw new NetlinkError('netlink dumper used after close', constants.errno.EBADF);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const req = dumpRequest(type, seq);
    for (;;) {
      const sent = Number(libc.sendto(this.fd, req, req.length, 0, sockaddrNl(0), 12));
      if (sent >= 0) break;
      const errno = lastErrno();
      if (errno !== EINTR) throw new NetlinkError(`sending a netlink dump request failed: ${errnoName(errno)}`, errno);
    }
    let interrupted = false;
    const tmp: RtMessage[] = [];
    for (;;) {
      const n = libc.recvmmsg(this.fd, this.ring.vector, this.ring.count, MSG_WAITFORONE, 0) as number;
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) throw new NetlinkError(`netlink dump: no answer within ${this.options.timeoutMs} ms`, errno);
        throw new NetlinkError(`netlink dump read failed: ${errnoName(errno)}`, errno);
      }
      for (let i = 0; i < n; i++) {
        if (this.ring.truncated(i)) throw new NetlinkError('netlink dump datagram truncated', constants.errno.EMSGSIZE);
        tmp.length = 0;
        if (parseNetlink(this.ring.datagram(i), tmp).dumpInterrupted) interrupted = true;
        for (const m of tmp) {
          if (m.type === 'done' && m.seq === seq) {
            if (m.error < 0) throw new NetlinkError(`netlink dump failed: ${errnoName(-m.error)}`, -m.error);
            return interrupted;
          }
          if (m.type === 'error' && m.seq === seq && m.errno !== 0) throw new NetlinkError(`netlink dump refused: ${errnoName(m.errno)}`, m.errno);
          if (m.type === 'malformed') throw new NetlinkError(`netlink dump: ${m.reason}`, constants.errno.EPROTO);
          if (m.type === 'address' || m.type === 'link') out.push(m);
        }
      }
    }
  }

  close(): void {
    if (this.fd >= 0) {
      libc.close(this.fd);
      this.fd = -1;
      this.ring.free();
    }
  }
}

/** One dump on a socket opened for it (in the calling thread's namespace). */
export function dumpRoute(options: DumpOptions = {}): RtMessage[] {
  const d = NetlinkDumper.open(options);
  try {
    return d.dump();
  } finally {
    d.close();
  }
}
