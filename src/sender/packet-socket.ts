import koffi from 'koffi';
import { constants } from 'node:os';
import { AF_PACKET, errnoName, IOVEC_SIZE, lastErrno, libc as c, MMSGHDR_SIZE, MSG_DONTWAIT, SocketError, SOCK_CLOEXEC, SOCK_RAW, SOCKADDR_LL_SIZE, sockaddrLl } from '../link/libc.js';

/** Frames handed to the kernel per sendmmsg(2); between chunks the event loop gets a turn. */
export const SEND_CHUNK = 256;

/** The raw socket could not be opened or bound (`nova-garp announce` reports it as a usage error). */
export class PacketSocketError extends SocketError {}

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

  /**
   * What slot `i` would send, read back from native memory: the iovec's length and the ethertype
   * of the sockaddr_ll its mmsghdr names (0x0806 ARP, 0x86dd IPv6). For tests of the writers.
   */
  slotInfo(i: number): { length: number; protocol: number } {
    const length = this.view.getUint32(this.iovOffset + i * IOVEC_SIZE + 8, true);
    const at = this.hdrOffset + i * MMSGHDR_SIZE;
    const name = this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 0x1_0000_0000 - this.base;
    if (name !== this.arpAddr && name !== this.ipv6Addr) throw new Error(`slot ${i}: msg_name points at neither sockaddr_ll`);
    return { length, protocol: this.view.getUint16(name + 2, false) };
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
      const errno = lastErrno();
      if (errno === constants.errno.EPERM || errno === constants.errno.EACCES) {
        throw new PacketSocketError('opening a raw AF_PACKET socket needs CAP_NET_RAW (run as root or grant cap_net_raw)', errno);
      }
      throw new PacketSocketError(`socket(AF_PACKET, SOCK_RAW) failed: ${errnoName(errno)}`, errno);
    }
    if ((c.bind(fd, sockaddrLl(ifindex, 0), SOCKADDR_LL_SIZE) as number) < 0) {
      const errno = lastErrno();
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
    if (n < 0) return { sent: 0, errno: lastErrno() };
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
