import { readFile } from 'node:fs/promises';

/** Whether IPv6 forwarding is on for the interface: a forwarding host sets the NA Router flag. */
export async function ipv6Forwarding(ifname: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8')).trim() === '1';
  } catch {
    return false;
  }
}
