import koffi from 'koffi';
import { constants } from 'node:os';
import { errnoName, PacketSocketError } from '../sender/packet-socket.js';

/**
 * A non-blocking AF_PACKET socket that receives the ARP frames of one interface (ETH_P_ARP only,
 * filtered by the kernel) and can send single ARP frames on it (probes, defences). It is drained
 * by its owner (a timer): reading never blocks the event loop, and an idle socket costs one
 * recvfrom(2) that returns EAGAIN.
 */

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ARP = 0x0806;
const MSG_DONTWAIT = 0x40;
const SOCKADDR_LL_SIZE = 20;
/** sockaddr_ll.sll_pkttype: the frame was sent by this host. */
export const PACKET_OUTGOING = 4;
const BUF_SIZE = 256;
const SOL_PACKET = 263;
/** Linux 4.20+: our own frames (a burst of 20,000 GARPs) never reach the listener's queue. */
const PACKET_IGNORE_OUTGOING = 23;

const libc = koffi.load('libc.so.6');
const c = {
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, const void *addr, uint32_t len)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
  close: libc.func('int close(int fd)'),
  recvfrom: libc.func('intptr_t recvfrom(int fd, uintptr_t buf, size_t len, int flags, uintptr_t addr, uintptr_t alen)'),
  send: libc.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
};

function sockaddrLl(ifindex: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, ETH_P_ARP, false);
  v.setInt32(4, ifindex, true);
  return b;
}

export class ArpListener {
  private fd: number;
  private readonly mem: unknown;
  private readonly base: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  private constructor(
    fd: number,
    readonly ifindex: number,
    readonly ifname: string,
  ) {
    this.fd = fd;
    // [0, BUF_SIZE) frame, then sockaddr_ll, then its socklen_t.
    this.mem = koffi.alloc('uint8_t', BUF_SIZE + 32);
    this.base = Number(koffi.address(this.mem));
    this.bytes = new Uint8Array(koffi.view(this.mem, BUF_SIZE + 32));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  static open(ifindex: number, ifname: string): ArpListener {
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8)) as number;
    if (fd < 0) {
      const errno = koffi.errno();
      throw new PacketSocketError(`socket(AF_PACKET, SOCK_RAW, ETH_P_ARP) for ${ifname} failed: ${errnoName(errno)}`, errno);
    }
    if ((c.bind(fd, sockaddrLl(ifindex), SOCKADDR_LL_SIZE) as number) < 0) {
      const errno = koffi.errno();
      c.close(fd);
      throw new PacketSocketError(`binding the ARP listener to ${ifname} failed: ${errnoName(errno)}`, errno);
    }
    // Older kernels refuse it: outgoing frames are then read and skipped (drain's `outgoing`).
    c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, new Uint8Array(new Int32Array([1]).buffer), 4);
    return new ArpListener(fd, ifindex, ifname);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /**
   * Reads every queued frame (at most `max`), calling `each` with a view valid only during the
   * call and whether this host sent it. Returns how many were read.
   */
  drain(each: (frame: Uint8Array, outgoing: boolean) => void, max = 4096): number {
    let n = 0;
    while (this.fd >= 0 && n < max) {
      this.view.setUint32(BUF_SIZE + SOCKADDR_LL_SIZE + 4, SOCKADDR_LL_SIZE, true);
      const len = Number(c.recvfrom(this.fd, this.base, BUF_SIZE, MSG_DONTWAIT, this.base + BUF_SIZE, this.base + BUF_SIZE + SOCKADDR_LL_SIZE + 4));
      if (len < 0) {
        const errno = koffi.errno();
        if (errno === constants.errno.EINTR) continue;
        if (errno === constants.errno.EAGAIN) return n;
        throw new PacketSocketError(`reading ARP on ${this.ifname} failed: ${errnoName(errno)}`, errno);
      }
      n++;
      const pkttype = this.bytes[BUF_SIZE + 10]!;
      each(this.bytes.subarray(0, Math.min(len, BUF_SIZE)), pkttype === PACKET_OUTGOING);
    }
    return n;
  }

  /** Sends one complete Ethernet frame on the interface; returns null or the error. */
  send(frame: Uint8Array): string | null {
    if (this.fd < 0) return 'closed';
    const r = Number(c.send(this.fd, frame, frame.length, MSG_DONTWAIT));
    return r < 0 ? errnoName(koffi.errno()) : null;
  }

  close(): void {
    if (this.fd >= 0) {
      c.close(this.fd);
      this.fd = -1;
      koffi.free(this.mem);
    }
  }
}
