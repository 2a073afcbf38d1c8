import koffi from 'koffi';
import { constants } from 'node:os';

/**
 * The one binding of the C library. Every raw socket of nova-garp (AF_PACKET sender and ARP
 * listener, rtnetlink, the ICMP echo check) and of the lab's prober calls through it. Message
 * vectors and receive buffers live in native memory we own (NativeMemory) and are passed by
 * address (uintptr_t): no call re-marshals thousands of nested structs.
 */
const lib = koffi.load('libc.so.6');
export const libc = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  bind: lib.func('int bind(int fd, const void *addr, uint32_t len)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ int *value, _Inout_ uint32_t *len)'),
  close: lib.func('int close(int fd)'),
  setns: lib.func('int setns(int fd, int nstype)'),
  send: lib.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
  sendto: lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)'),
  recv: lib.func('intptr_t recv(int fd, uintptr_t buf, size_t len, int flags)'),
  recvfrom: lib.func('intptr_t recvfrom(int fd, uintptr_t buf, size_t len, int flags, uintptr_t addr, uintptr_t alen)'),
  sendmmsg: lib.func('int sendmmsg(int fd, uintptr_t msgvec, unsigned int vlen, int flags)'),
  /** `timeout` is the address of a struct timespec, or 0 for none. */
  recvmmsg: lib.func('int recvmmsg(int fd, uintptr_t msgvec, unsigned int vlen, int flags, uintptr_t timeout)'),
  poll: lib.func('int poll(uintptr_t fds, unsigned long nfds, int timeout)'),
  eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
  write: lib.func('intptr_t write(int fd, const void *buf, size_t len)'),
  clock_gettime: lib.func('int clock_gettime(int clk, _Out_ int64_t *tp)'),
  sched_setscheduler: lib.func('int sched_setscheduler(int pid, int policy, const int *param)'),
};

/** A failed call on a socket: the message says what was being done, `errno` why it failed. */
export class SocketError extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** errno of the last libc call on this thread. */
export const lastErrno = (): number => koffi.errno();

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
export const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `errno ${n}`;

// Constants more than one socket uses (Linux, x86_64 and aarch64).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SOL_RAW = 255;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_ICMP = 1;
export const ICMP_FILTER = 1;
export const MSG_DONTWAIT = 0x40;
/** struct iovec. */
export const IOVEC_SIZE = 16;
/** struct mmsghdr: msghdr (56) + msg_len, padded. msg_flags at 48, msg_len at 56. */
export const MMSGHDR_SIZE = 64;
export const SOCKADDR_LL_SIZE = 20;

/** sockaddr_ll for an AF_PACKET socket: interface and EtherType (host order in, network order out). */
export function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false); // network byte order
  v.setInt32(4, ifindex, true);
  return b;
}

/** A C int, as setsockopt(2) takes it. */
export function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

/** Bytes in native memory we own, addressable from C (`base`) and from JavaScript (`bytes`, `view`). */
export class NativeMemory {
  private readonly mem: unknown;
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(size: number) {
    const n = Math.max(8, size);
    this.mem = koffi.alloc('uint8_t', n);
    // User-space addresses fit in 47 bits: plain numbers are exact.
    this.base = Number(koffi.address(this.mem));
    this.bytes = new Uint8Array(koffi.view(this.mem, n));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** Writes a 64-bit pointer or length (little-endian). */
  put64(at: number, value: number): void {
    this.view.setUint32(at, value % 0x1_0000_0000, true);
    this.view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
  }

  free(): void {
    koffi.free(this.mem);
  }
}
