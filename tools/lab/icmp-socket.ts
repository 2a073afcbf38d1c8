import { constants } from 'node:os';
import {
  AF_INET,
  AF_INET6,
  errnoName,
  ICMP_FILTER,
  int32,
  IOVEC_SIZE as IOVEC,
  IPPROTO_ICMP,
  lastErrno,
  libc as c,
  MMSGHDR_SIZE as MMSGHDR,
  MSG_DONTWAIT,
  NativeMemory as Native,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_RAW,
  SOL_SOCKET,
} from '../../src/link/libc.js';

/**
 * Raw ICMP sockets for the lab's prober, opened inside other network namespaces with setns(2) on
 * the calling thread (a socket stays in the namespace it was created in), and batched I/O with
 * sendmmsg/recvmmsg over message vectors laid out once in native memory: thousands of probes per
 * second cost a few system calls per millisecond, not one process or one FFI call each.
 */

const IPPROTO_ICMPV6 = 58;
const SO_SNDBUFFORCE = 32;
const ICMP6_FILTER = 1;
const NAME = 28; // sockaddr_in6, the larger of the two
const RECV_BUF = 256;
export const RECV_BATCH = 128;

export class IcmpSocketError extends Error {}

function fail(what: string): never {
  const errno = lastErrno();
  if (errno === constants.errno.EPERM || errno === constants.errno.EACCES) {
    throw new IcmpSocketError(`${what}: needs root (CAP_NET_RAW)`);
  }
  throw new IcmpSocketError(`${what} failed: ${errnoName(errno)}`);
}

function sockaddr(family: 4 | 6, addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(family === 4 ? 16 : 28);
  const v = new DataView(b.buffer);
  v.setUint16(0, family === 4 ? AF_INET : AF_INET6, true);
  b.set(addr, family === 4 ? 4 : 8);
  return b;
}

/** A raw ICMP (or ICMPv6) socket that only receives echo replies. */
export class IcmpSocket {
  private constructor(
    readonly fd: number,
    readonly family: 4 | 6,
  ) {}

  /** Opens the socket in the current namespace (wrap in inNetns for another one). */
  static open(family: 4 | 6): IcmpSocket {
    const fd = c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) as number;
    if (fd < 0) fail(`socket(${family === 4 ? 'AF_INET' : 'AF_INET6'}, SOCK_RAW, ICMP)`);
    // Bursts of thousands of replies must wait in the queue between two ticks of the loop.
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(8 << 20), 4);
    c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, int32(8 << 20), 4);
    // Filters drop everything but echo replies in the kernel (a set bit blocks that type).
    if (family === 4) {
      if ((c.setsockopt(fd, SOL_RAW, ICMP_FILTER, new Uint8Array(new Uint32Array([~1 >>> 0]).buffer), 4) as number) < 0) fail('ICMP_FILTER');
    } else {
      const f = new Uint32Array(8).fill(0xffffffff);
      f[129 >> 5]! &= ~(1 << (129 & 31)) >>> 0;
      if ((c.setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, new Uint8Array(f.buffer), 32) as number) < 0) fail('ICMP6_FILTER');
    }
    return new IcmpSocket(fd, family);
  }

  close(): void {
    c.close(this.fd);
  }
}

/** One prebuilt echo request per destination, sent in contiguous runs with sendmmsg. */
export class SendVector {
  private readonly mem: Native;
  private readonly hdr: number;
  readonly count: number;

  constructor(family: 4 | 6, destinations: Uint8Array[], message: (i: number) => Uint8Array) {
    this.count = destinations.length;
    const msgLen = message(0).length;
    const nameLen = family === 4 ? 16 : 28;
    const msgAt = 0;
    const nameAt = msgAt + align(this.count * msgLen);
    const iovAt = nameAt + align(this.count * nameLen);
    this.hdr = iovAt + this.count * IOVEC;
    this.mem = new Native(this.hdr + this.count * MMSGHDR);
    for (let i = 0; i < this.count; i++) {
      const m = this.mem;
      m.bytes.set(message(i), msgAt + i * msgLen);
      m.bytes.set(sockaddr(family, destinations[i]!), nameAt + i * nameLen);
      m.put64(iovAt + i * IOVEC, m.base + msgAt + i * msgLen);
      m.put64(iovAt + i * IOVEC + 8, msgLen);
      const h = this.hdr + i * MMSGHDR;
      m.put64(h, m.base + nameAt + i * nameLen);
      m.view.setUint32(h + 8, nameLen, true);
      m.put64(h + 16, m.base + iovAt + i * IOVEC);
      m.put64(h + 24, 1);
    }
  }

  /** Sends messages [from, from+n); returns how many the kernel took, or -errno when none. */
  send(sock: IcmpSocket, from: number, n: number): number {
    const r = c.sendmmsg(sock.fd, this.mem.base + this.hdr + from * MMSGHDR, n, MSG_DONTWAIT) as number;
    return r < 0 ? -lastErrno() : r;
  }

  free(): void {
    this.mem.free();
  }
}

export interface Received {
  /** Bytes as recvmsg returned them (IPv4: with the IP header). */
  data: Uint8Array;
  length: number;
  /** Source address bytes (4 or 16), a view valid until the next receive. */
  source: Uint8Array;
}

/** A recvmmsg vector of RECV_BATCH buffers, reused for every call. */
export class ReceiveVector {
  private readonly mem = new Native(RECV_BATCH * (RECV_BUF + NAME + 4 + IOVEC + MMSGHDR));
  private readonly bufAt = 0;
  private readonly nameAt = RECV_BATCH * RECV_BUF;
  private readonly iovAt = this.nameAt + RECV_BATCH * (NAME + 4);
  private readonly hdrAt = this.iovAt + RECV_BATCH * IOVEC;

  constructor() {
    const m = this.mem;
    for (let i = 0; i < RECV_BATCH; i++) {
      m.put64(this.iovAt + i * IOVEC, m.base + this.bufAt + i * RECV_BUF);
      m.put64(this.iovAt + i * IOVEC + 8, RECV_BUF);
      const h = this.hdrAt + i * MMSGHDR;
      m.put64(h, m.base + this.nameAt + i * (NAME + 4));
      m.put64(h + 16, m.base + this.iovAt + i * IOVEC);
      m.put64(h + 24, 1);
    }
  }

  /** Drains what is queued (up to RECV_BATCH), calling `each` per message; returns the count. */
  receive(sock: IcmpSocket, each: (r: Received) => void): number {
    const m = this.mem;
    for (let i = 0; i < RECV_BATCH; i++) m.view.setUint32(this.hdrAt + i * MMSGHDR + 8, NAME, true);
    const n = c.recvmmsg(sock.fd, m.base + this.hdrAt, RECV_BATCH, MSG_DONTWAIT, 0) as number;
    if (n <= 0) return 0;
    const srcAt = sock.family === 4 ? 4 : 8;
    const srcLen = sock.family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) {
      const len = m.view.getUint32(this.hdrAt + i * MMSGHDR + 56, true);
      const name = this.nameAt + i * (NAME + 4) + srcAt;
      each({
        data: m.bytes.subarray(this.bufAt + i * RECV_BUF, this.bufAt + (i + 1) * RECV_BUF),
        length: Math.min(len, RECV_BUF),
        source: m.bytes.subarray(name, name + srcLen),
      });
    }
    return n;
  }

  free(): void {
    this.mem.free();
  }
}

/** poll(2) on one descriptor (the prober's command pipe); also the loop's sleep. */
export class Poller {
  private readonly mem = new Native(8);
  constructor(fd: number) {
    this.mem.view.setInt32(0, fd, true);
    this.mem.view.setInt16(4, 1 /* POLLIN */, true);
  }
  /** True when the descriptor is readable (or hung up) within `timeoutMs`. */
  wait(timeoutMs: number): boolean {
    this.mem.view.setInt16(6, 0, true);
    const n = c.poll(this.mem.base, 1, timeoutMs) as number;
    return n > 0 && this.mem.view.getInt16(6, true) !== 0;
  }
}

const align = (n: number): number => Math.ceil(n / 8) * 8;
