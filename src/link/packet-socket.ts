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

/** Every frame gets a fixed slot: ARP frames are 42 bytes, NAs 86. */
export const SLOT_SIZE = 96;

/**
 * Native memory holding frame slots with their iovecs and mmsghdrs, laid out once and reused for
 * every burst of one interface: building a frame is a template copy straight into its slot plus
 * two header fields, and a burst is a handful of sendmmsg(2) calls with no allocation or
 * marshalling per frame.
 */
export class FrameBatch {
  /** The slots, writable: frame i lives at [i * SLOT_SIZE, i * SLOT_SIZE + length). */
  readonly slots: Uint8Array;
  /**
   * What each slot holds, for writers that reuse a slot's bytes: a writer that puts an immutable
   * template into slot i (and sets its frame) may record the template here and, while it is still
   * recorded, rewrite only the bytes that differ. null: nothing reusable.
   */
  readonly held: (object | null)[];
  private readonly mem: unknown;
  private readonly base: number;
  private readonly view: DataView;
  private readonly hdrOffset: number;
  private readonly iovOffset: number;
  private readonly arpAddr: number;
  private readonly ipv6Addr: number;
  private freed = false;

  constructor(
    readonly capacity: number,
    readonly ifindex: number,
  ) {
    const dataBytes = capacity * SLOT_SIZE;
    this.arpAddr = dataBytes;
    this.ipv6Addr = dataBytes + SOCKADDR_LL_SIZE;
    this.iovOffset = align(dataBytes + 2 * SOCKADDR_LL_SIZE, 8);
    this.hdrOffset = this.iovOffset + capacity * IOVEC_SIZE;
    const total = this.hdrOffset + capacity * MMSGHDR_SIZE;
    this.mem = koffi.alloc('uint8_t', total);
    // User-space addresses fit in 47 bits, so plain numbers are exact and much cheaper than BigInt.
    this.base = Number(koffi.address(this.mem));
    const mem = new Uint8Array(koffi.view(this.mem, total));
    mem.fill(0);
    this.slots = mem.subarray(0, dataBytes);
    this.held = new Array<object | null>(capacity).fill(null);
    this.view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    mem.set(sockaddrLl(ifindex, 0x0806), this.arpAddr);
    mem.set(sockaddrLl(ifindex, 0x86dd), this.ipv6Addr);
    for (let i = 0; i < capacity; i++) {
      const iov = this.iovOffset + i * IOVEC_SIZE;
      this.put64(iov, this.base + i * SLOT_SIZE);
      const hdr = this.hdrOffset + i * MMSGHDR_SIZE;
      this.put64(hdr, this.base + this.arpAddr); // msg_name
      this.view.setUint32(hdr + 8, SOCKADDR_LL_SIZE, true); // msg_namelen
      this.put64(hdr + 16, this.base + iov); // msg_iov
      this.put64(hdr + 24, 1); // msg_iovlen
    }
  }

  private put64(at: number, value: number): void {
    this.view.setUint32(at, value % 0x1_0000_0000, true);
    this.view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
  }

  /** Records the length of the frame written into slot i and which address family carries it. */
  setFrame(i: number, length: number, ipv6: boolean): void {
    this.view.setUint32(this.iovOffset + i * IOVEC_SIZE + 8, length, true);
    const name = this.base + (ipv6 ? this.ipv6Addr : this.arpAddr);
    this.put64(this.hdrOffset + i * MMSGHDR_SIZE, name);
  }

  /** Native address of the mmsghdr for slot `i`. */
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
