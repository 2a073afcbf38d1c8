import koffi from 'koffi';
import { constants } from 'node:os';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const SOCKADDR_LL_SIZE = 20;
const IOVEC_SIZE = 16;
const MMSGHDR_SIZE = 64;
/** Frames handed to the kernel per sendmmsg(2); between chunks the event loop gets a turn. */
export const SEND_CHUNK = 256;

const libc = koffi.load('libc.so.6');
const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const void *addr, uint32_t len)'),
  close: libc.func('int close(int fd)'),
  // The message vector lives in native memory we own; passing its address avoids re-marshalling
  // thousands of nested structs on every call.
  sendmmsg: libc.func('int sendmmsg(int fd, uintptr_t msgvec, unsigned int vlen, int flags)'),
};

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
export const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `errno ${n}`;

export class PacketSocketError extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = 'PacketSocketError';
  }
}

function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false); // network byte order
  v.setInt32(4, ifindex, true);
  return b;
}

/**
 * Frames laid out once in native memory with their iovecs and mmsghdrs, so a burst is a handful
 * of sendmmsg(2) calls with no per-frame allocation or marshalling.
 */
export class FrameBatch {
  readonly count: number;
  private readonly mem: unknown;
  private readonly base: number;
  private readonly hdrOffset: number;
  private freed = false;

  /** `bytes` holds the frames end to end; `lengths[i]` is the length of frame i. */
  constructor(
    bytes: Uint8Array,
    lengths: ArrayLike<number>,
    readonly ifindex: number,
  ) {
    this.count = lengths.length;
    const addrOffset = align(bytes.length, 8);
    const iovOffset = addrOffset + 2 * SOCKADDR_LL_SIZE + 8;
    this.hdrOffset = iovOffset + this.count * IOVEC_SIZE;
    const total = Math.max(this.hdrOffset + this.count * MMSGHDR_SIZE, 8);
    this.mem = koffi.alloc('uint8_t', total);
    // User-space addresses fit in 47 bits, so plain numbers are exact and much cheaper than BigInt.
    this.base = Number(koffi.address(this.mem));
    const mem = new Uint8Array(koffi.view(this.mem, total));
    const view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    const arpAddr = addrOffset;
    const ipv6Addr = addrOffset + SOCKADDR_LL_SIZE;
    mem.set(bytes, 0);
    mem.set(sockaddrLl(ifindex, 0x0806), arpAddr);
    mem.set(sockaddrLl(ifindex, 0x86dd), ipv6Addr);
    const put64 = (at: number, value: number): void => {
      view.setUint32(at, value % 0x1_0000_0000, true);
      view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
    };
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const len = lengths[i]!;
      const iov = iovOffset + i * IOVEC_SIZE;
      put64(iov, this.base + at);
      put64(iov + 8, len);
      const hdr = this.hdrOffset + i * MMSGHDR_SIZE;
      const ipv6 = bytes[at + 12] === 0x86 && bytes[at + 13] === 0xdd;
      put64(hdr, this.base + (ipv6 ? ipv6Addr : arpAddr)); // msg_name
      view.setUint32(hdr + 8, SOCKADDR_LL_SIZE, true); // msg_namelen
      put64(hdr + 16, this.base + iov); // msg_iov
      put64(hdr + 24, 1); // msg_iovlen
      at += len;
    }
  }

  /** Native address of the mmsghdr for frame `i`. */
  headerAddress(i: number): number {
    if (this.freed) throw new Error('FrameBatch used after free');
    return this.base + this.hdrOffset + i * MMSGHDR_SIZE;
  }

  free(): void {
    if (!this.freed) {
      this.freed = true;
      koffi.free(this.mem);
    }
  }
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export type SendOutcome = { sent: number } | { sent: number; errno: number };

/** One AF_PACKET/SOCK_RAW socket bound to one interface of the current network namespace. */
export class PacketSocket {
  private fd: number;

  private constructor(
    fd: number,
    readonly ifindex: number,
  ) {
    this.fd = fd;
  }

  static open(ifindex: number, ifname = `ifindex ${ifindex}`): PacketSocket {
    // Protocol 0: the socket only sends, so the kernel never queues received frames on it.
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) as number;
    if (fd < 0) {
      const errno = koffi.errno();
      if (errno === constants.errno.EPERM || errno === constants.errno.EACCES) {
        throw new PacketSocketError('opening a raw AF_PACKET socket needs CAP_NET_RAW (run as root or grant cap_net_raw)', errno);
      }
      throw new PacketSocketError(`socket(AF_PACKET, SOCK_RAW) failed: ${errnoName(errno)}`, errno);
    }
    if ((c.bind(fd, sockaddrLl(ifindex, 0), SOCKADDR_LL_SIZE) as number) < 0) {
      const errno = koffi.errno();
      c.close(fd);
      throw new PacketSocketError(`binding the raw socket to ${ifname} failed: ${errnoName(errno)}`, errno);
    }
    return new PacketSocket(fd, ifindex);
  }

  /**
   * Non-blocking sendmmsg of frames [from, from+count) of the batch. Returns how many the kernel
   * took, and the errno when it took none.
   */
  send(batch: FrameBatch, from: number, count: number): SendOutcome {
    if (this.fd < 0) throw new Error('PacketSocket used after close');
    if (count <= 0) return { sent: 0 };
    const n = c.sendmmsg(this.fd, batch.headerAddress(from), count, MSG_DONTWAIT) as number;
    if (n < 0) return { sent: 0, errno: koffi.errno() };
    return { sent: n };
  }

  close(): void {
    if (this.fd >= 0) {
      c.close(this.fd);
      this.fd = -1;
    }
  }
}

/** Errors that mean "the queue is full, try again shortly" rather than "this cannot work". */
export function isTransient(errno: number): boolean {
  return errno === constants.errno.EAGAIN || errno === constants.errno.ENOBUFS || errno === constants.errno.EINTR;
}
