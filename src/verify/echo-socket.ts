import { constants } from 'node:os';
import { AF_INET, errnoName, ICMP_FILTER, int32, IPPROTO_ICMP, lastErrno, libc, MSG_DONTWAIT, NativeMemory, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOL_RAW } from '../link/libc.js';
import { internetChecksum } from '../frames/internet-checksum.js';

/**
 * A raw IPv4 ICMP socket with IP_HDRINCL: every echo request carries the source address we write
 * into its header (one of our bound targets), and the kernel filter passes echo replies only.
 * Non-blocking; drained by its owner.
 */

const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const PACKET_LEN = 20 + 8 + 8;
const BUF = 256;

export interface EchoReply {
  /** Who answered (the router). */
  from: string;
  /** Where the answer was addressed (our address). */
  to: string;
  id: number;
  seq: number;
}

const ip4 = (b: Uint8Array, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

export class EchoSocket {
  private fd: number;
  private readonly mem = new NativeMemory(BUF);
  private readonly packet = new Uint8Array(PACKET_LEN);

  private constructor(fd: number) {
    this.fd = fd;
  }

  static open(): EchoSocket {
    const fd = libc.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP) as number;
    if (fd < 0) throw new Error(`socket(AF_INET, SOCK_RAW, ICMP) failed: ${errnoName(lastErrno())}`);
    if ((libc.setsockopt(fd, IPPROTO_IP, IP_HDRINCL, int32(1), 4) as number) < 0 || (libc.setsockopt(fd, SOL_RAW, ICMP_FILTER, new Uint8Array(new Uint32Array([~1 >>> 0]).buffer), 4) as number) < 0) {
      const e = errnoName(lastErrno());
      libc.close(fd);
      throw new Error(`configuring the ICMP socket failed: ${e}`);
    }
    return new EchoSocket(fd);
  }

  /** One echo request from `source` to `dest`; returns null or the error. */
  send(source: Uint8Array, dest: Uint8Array, id: number, seq: number): string | null {
    if (this.fd < 0) return 'closed';
    const p = this.packet;
    p.fill(0);
    p[0] = 0x45;
    p[8] = 64; // TTL
    p[9] = IPPROTO_ICMP;
    p.set(source, 12);
    p.set(dest, 16);
    // total length, id and header checksum are filled in by the kernel (IP_HDRINCL)
    p[20] = 8; // echo request
    p[24] = id >> 8;
    p[25] = id & 0xff;
    p[26] = (seq >> 8) & 0xff;
    p[27] = seq & 0xff;
    p.set([0x6e, 0x67, 0x61, 0x72, 0x70, 0x76, 0x66, 0x79], 28); // "ngarpvfy"
    const sum = internetChecksum(p.subarray(20));
    p[22] = sum >> 8;
    p[23] = sum & 0xff;
    const addr = new Uint8Array(16);
    new DataView(addr.buffer).setUint16(0, AF_INET, true);
    addr.set(dest, 4);
    const r = Number(libc.sendto(this.fd, p, PACKET_LEN, MSG_DONTWAIT, addr, 16));
    return r < 0 ? errnoName(lastErrno()) : null;
  }

  /** Reads every queued echo reply. */
  drain(each: (r: EchoReply) => void): void {
    while (this.fd >= 0) {
      const n = Number(libc.recv(this.fd, this.mem.base, BUF, MSG_DONTWAIT));
      if (n < 0) {
        const errno = lastErrno();
        if (errno === constants.errno.EINTR) continue;
        return;
      }
      const b = this.mem.bytes;
      const ihl = (b[0]! & 0x0f) * 4;
      if (n < ihl + 8 || b[ihl] !== 0) continue;
      each({ from: ip4(b, 12), to: ip4(b, 16), id: (b[ihl + 4]! << 8) | b[ihl + 5]!, seq: (b[ihl + 6]! << 8) | b[ihl + 7]! });
    }
  }

  close(): void {
    if (this.fd >= 0) {
      libc.close(this.fd);
      this.fd = -1;
      this.mem.free();
    }
  }
}
