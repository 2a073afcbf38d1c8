/*
 * The kernel's floor for a burst of announcements: the same prebuilt frames nova-garp sends, handed
 * to one AF_PACKET socket with sendmmsg(2), nothing else. On a veth the receiver's ARP processing
 * runs on the sending CPU, so this is the least any sender can take on this machine.
 *
 * usage: kernel-floor IFNAME FRAME-FILE [BATCH [ROUNDS [GAP-MS]]]
 * FRAME-FILE: records of a little-endian u16 length followed by the frame's bytes.
 * prints one JSON line: frames, sent, ENOBUFS/EAGAIN retries, start/end CLOCK_REALTIME in ns, the
 * elapsed CLOCK_MONOTONIC ns of the send loop (allocation and file reading are outside it) and the
 * thread's CPU time in it (CLOCK_THREAD_CPUTIME_ID: on a loaded machine, the time it was not waiting
 * for a CPU; on a veth it includes the receiver's softirq work done on this thread's behalf).
 * With ROUNDS > 1 the loop runs again after GAP-MS (default 400) of sleep, as nova-garp's later rounds
 * do, and "rounds" lists each round's elapsedNs and cpuNs (the top-level figures are round 1's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long long ns_of(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s IFNAME FRAME-FILE [BATCH [ROUNDS [GAP-MS]]]\n", argv[0]);
    return 2;
  }
  unsigned batch = argc > 3 ? (unsigned)atoi(argv[3]) : 256;
  if (batch == 0 || batch > 1024) batch = 256;
  int rounds = argc > 4 ? atoi(argv[4]) : 1;
  if (rounds < 1 || rounds > 100) rounds = 1;
  long gap_ms = argc > 5 ? atol(argv[5]) : 400;
  FILE *f = fopen(argv[2], "rb");
  if (!f) { perror("open frame file"); return 2; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) { perror("read frame file"); return 2; }
  fclose(f);

  size_t count = 0;
  for (long at = 0; at + 2 <= size; at += 2 + (data[at] | data[at + 1] << 8)) count++;
  struct iovec *iov = calloc(count, sizeof *iov);
  struct mmsghdr *msgs = calloc(count, sizeof *msgs);
  if (!iov || !msgs) { perror("calloc"); return 2; }
  size_t i = 0;
  for (long at = 0; at + 2 <= size; i++) {
    unsigned len = data[at] | data[at + 1] << 8;
    iov[i].iov_base = data + at + 2;
    iov[i].iov_len = len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    at += 2 + len;
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket(AF_PACKET)"); return 2; }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (sll.sll_ifindex == 0) { perror("if_nametoindex"); return 2; }
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 2; }

  long retries = 0;
  long long el[100], cpu[100], wall0 = 0, wall1 = 0;
  size_t sent = 0;
  for (int r = 0; r < rounds; r++) {
    if (r > 0) {
      struct timespec gap = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };
      nanosleep(&gap, NULL);
    }
    sent = 0;
    long long w0 = ns_of(CLOCK_REALTIME);
    long long t0 = ns_of(CLOCK_MONOTONIC);
    long long c0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    while (sent < count) {
      unsigned n = count - sent < batch ? (unsigned)(count - sent) : batch;
      int k = sendmmsg(fd, msgs + sent, n, MSG_DONTWAIT);
      if (k < 0) {
        if (errno == ENOBUFS || errno == EAGAIN) { retries++; sched_yield(); continue; }
        perror("sendmmsg");
        return 1;
      }
      sent += (size_t)k;
    }
    long long c1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    long long t1 = ns_of(CLOCK_MONOTONIC);
    long long w1 = ns_of(CLOCK_REALTIME);
    el[r] = t1 - t0;
    cpu[r] = c1 - c0;
    if (r == 0) { wall0 = w0; wall1 = w1; }
  }
  printf("{\"frames\":%zu,\"sent\":%zu,\"retries\":%ld,\"elapsedNs\":%lld,\"cpuNs\":%lld,\"startWallNs\":%lld,\"endWallNs\":%lld,\"rounds\":[",
         count, sent, retries, el[0], cpu[0], wall0, wall1);
  for (int r = 0; r < rounds; r++) printf("%s{\"elapsedNs\":%lld,\"cpuNs\":%lld}", r ? "," : "", el[r], cpu[r]);
  printf("]}\n");
  return 0;
}
