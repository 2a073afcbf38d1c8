import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { canonicalIp, type IpFamily } from '../net/ip-address.js';

const execFileAsync = promisify(execFile);

export interface LinkAddress {
  family: IpFamily;
  address: string;
  prefixlen: number;
  /** IPv6 DAD still running or failed: the kernel does not own the address yet. */
  tentative: boolean;
}

export interface LinkInfo {
  name: string;
  ifindex: number;
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  carrier: boolean;
  addresses: LinkAddress[];
}

interface IpJsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  tentative?: boolean;
  dadfailed?: boolean;
}

interface IpJsonLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  address?: string;
  addr_info?: IpJsonAddr[];
}

/** Pure: turns `ip -j addr show` output into LinkInfo records. */
export function parseIpAddrJson(json: string): LinkInfo[] {
  const raw = JSON.parse(json) as IpJsonLink[];
  return raw
    .filter((l) => typeof l.ifname === 'string' && typeof l.ifindex === 'number')
    .map((l) => ({
      name: l.ifname as string,
      ifindex: l.ifindex as number,
      mac: (l.address ?? '').toLowerCase(),
      up: (l.flags ?? []).includes('UP'),
      carrier: (l.flags ?? []).includes('LOWER_UP'),
      addresses: (l.addr_info ?? []).flatMap((a): LinkAddress[] => {
        const family: IpFamily | null = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : null;
        const address = a.local === undefined ? null : canonicalIp(a.local);
        if (family === null || address === null) return [];
        return [{ family, address, prefixlen: a.prefixlen ?? (family === 4 ? 32 : 128), tentative: a.tentative === true || a.dadfailed === true }];
      }),
    }));
}

/**
 * Reads links and addresses of the current network namespace with iproute2's JSON output.
 * `ip -j` is on every nova-network host, needs no native addon and reads one namespace in a
 * single dump; the cost (a few ms) is paid once per burst, not per address.
 */
export async function readInterfaces(device?: string): Promise<Map<string, LinkInfo>> {
  const args = ['-j', 'addr', 'show', ...(device === undefined ? [] : ['dev', device])];
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('ip', args, { maxBuffer: 256 * 1024 * 1024 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error("iproute2's 'ip' command is not installed");
    if (device !== undefined && /does not exist|Cannot find device/i.test(e.stderr ?? '')) return new Map();
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
  return new Map(parseIpAddrJson(stdout).map((l) => [l.name, l]));
}

/** The addresses that can be announced now: on the link, not tentative. */
export function boundAddresses(link: LinkInfo | undefined): Set<string> {
  return new Set((link?.addresses ?? []).filter((a) => !a.tentative).map((a) => a.address));
}
