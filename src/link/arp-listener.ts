import { constants } from 'node:os';
import { AF_PACKET, errnoName, lastErrno, int32, libc, MSG_DONTWAIT, NativeMemory, SocketError, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOCKADDR_LL_SIZE, sockaddrLl } from './libc.js';
import { ETH_P_ARP } from '../frames/arp-frame.js';

/**
 * A non-blocking AF_PACKET socket that receives the ARP frames of one interface (ETH_P_ARP only,
 * filtered by the kernel) and can send single ARP frames on it (probes, defences). It is drained
 * by its owner (a timer): reading never blocks the event loop, and an idle socket costs one
 * recvfrom(2) that returns EAGAIN.
 */

/** sockaddr_ll.sll_pkttype: the frame was sent by this host. */
export const PACKET_OUTGOING = 4;
const BUF_SIZE = 256;
const SOL_PACKET = 263;
/** Linux 4.20+: our own frames (a burst of 20,000 GARPs) never reach the listener's queue. */
const PACKET_IGNORE_OUTGOING = 23;

export class ArpListener {
  private fd: number;
  /** [0, BUF_SIZE) frame, then sockaddr_ll, then its socklen_t. */
  private readonly mem = new NativeMemory(BUF_SIZE + 32);

  private constructor(
    fd: number,
    readonly ifindex: number,
    readonly ifname: string,
  ) {
    this.fd = fd;
  }

  static open(ifindex: number, ifname: string): ArpListener {
    const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8)) as number;
    if (fd < 0) {
      const errno = lastErrno();
      throw new SocketError(`socket(AF_PACKET, SOCK_RAW, ETH_P_ARP) for ${ifname} failed: ${errnoName(errno)}`, errno);
    }
    if ((libc.bind(fd, sockaddrLl(ifindex, ETH_P_ARP), SOCKADDR_LL_SIZE) as number) < 0) {
      const errno = lastErrno();
      libc.close(fd);
      throw new SocketError(`binding the ARP listener to ${ifname} failed: ${errnoName(errno)}`, errno);
    }
    // Older kernels refuse it: outgoing frames are then read and skipped (drain's `outgoing`).
    libc.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, int32(1), 4);
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
      this.mem.view.setUint32(BUF_SIZE + SOCKADDR_LL_SIZE + 4, SOCKADDR_LL_SIZE, true);
      const len = Number(libc.recvfrom(this.fd, this.mem.base, BUF_SIZE, MSG_DONTWAIT, this.mem.base + BUF_SIZE, this.mem.base + BUF_SIZE + SOCKADDR_LL_SIZE + 4));
      if (len < 0) {
        const errno = lastErrno();
        if (errno === constants.errno.EINTR) continue;
        if (errno === constants.errno.EAGAIN) return n;
        throw new SocketError(`reading ARP on ${this.ifname} failed: ${errnoName(errno)}`, errno);
      }
      n++;
      const pkttype = this.mem.bytes[BUF_SIZE + 10]!;
      each(this.mem.bytes.subarray(0, Math.min(len, BUF_SIZE)), pkttype === PACKET_OUTGOING);
    }
    return n;
  }

  /** Sends one complete Ethernet frame on the interface; returns null or the error. */
  send(frame: Uint8Array): string | null {
    if (this.fd < 0) return 'closed';
    const r = Number(libc.send(this.fd, frame, frame.length, MSG_DONTWAIT));
    return r < 0 ? errnoName(lastErrno()) : null;
  }

  close(): void {
    if (this.fd >= 0) {
      libc.close(this.fd);
      this.fd = -1;
      this.mem.free();
    }
  }
}
