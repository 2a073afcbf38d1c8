import { BROADCAST_MAC, ZERO_MAC, formatMac } from './mac.js';
import { formatIPv4 } from '../net/ip-address.js';

export const ETH_P_ARP = 0x0806;
export const ARP_FRAME_LENGTH = 42;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** Byte offsets in an Ethernet/ARP frame (IPv4 over Ethernet): frames of one form differ only here. */
export const ARP_SENDER_MAC_OFFSET = 22;
export const ARP_SENDER_IP_OFFSET = 28;
export const ARP_TARGET_MAC_OFFSET = 32;
export const ARP_TARGET_IP_OFFSET = 38;

export interface ArpFields {
  ethDst: Uint8Array;
  ethSrc: Uint8Array;
  op: number;
  senderMac: Uint8Array;
  senderIp: Uint8Array;
  targetMac: Uint8Array;
  targetIp: Uint8Array;
}

/** Writes one Ethernet/ARP frame (IPv4 over Ethernet) into `out` at `offset`. */
export function writeArpFrame(out: Uint8Array, offset: number, f: ArpFields): void {
  out.set(f.ethDst.subarray(0, 6), offset);
  out.set(f.ethSrc.subarray(0, 6), offset + 6);
  const header = [ETH_P_ARP >> 8, ETH_P_ARP & 0xff, 0x00, 0x01, 0x08, 0x00, 6, 4, f.op >> 8, f.op & 0xff];
  out.set(header, offset + 12);
  out.set(f.senderMac.subarray(0, 6), offset + ARP_SENDER_MAC_OFFSET);
  out.set(f.senderIp.subarray(0, 4), offset + ARP_SENDER_IP_OFFSET);
  out.set(f.targetMac.subarray(0, 6), offset + ARP_TARGET_MAC_OFFSET);
  out.set(f.targetIp.subarray(0, 4), offset + ARP_TARGET_IP_OFFSET);
}

function frame(f: ArpFields): Uint8Array {
  const out = new Uint8Array(ARP_FRAME_LENGTH);
  writeArpFrame(out, 0, f);
  return out;
}

/**
 * GARP request, RFC 5227 "ARP Announcement": sender IP = target IP = the address, target MAC
 * zero. Linux accepts it regardless of the neighbour locktime and Juniper requires this form.
 */
export function garpRequestFields(mac: Uint8Array, ip: Uint8Array): ArpFields {
  return { ethDst: BROADCAST_MAC, ethSrc: mac, op: ARP_REQUEST, senderMac: mac, senderIp: ip, targetMac: ZERO_MAC, targetIp: ip };
}

/** GARP reply as `arping -A` sends it: Linux treats a reply as gratuitous only when target MAC = sender MAC. */
export function garpReplyFields(mac: Uint8Array, ip: Uint8Array): ArpFields {
  return { ethDst: BROADCAST_MAC, ethSrc: mac, op: ARP_REPLY, senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip };
}

/**
 * Request from the address to one upstream router (`arping -b -s <addr> <router>`): firewalls that
 * ignore gratuitous broadcasts still learn the sender of a request addressed to them.
 */
export function directedRequestFields(mac: Uint8Array, ip: Uint8Array, upstream: Uint8Array): ArpFields {
  return { ethDst: BROADCAST_MAC, ethSrc: mac, op: ARP_REQUEST, senderMac: mac, senderIp: ip, targetMac: ZERO_MAC, targetIp: upstream };
}

export const buildGarpRequest = (mac: Uint8Array, ip: Uint8Array): Uint8Array => frame(garpRequestFields(mac, ip));
export const buildGarpReply = (mac: Uint8Array, ip: Uint8Array): Uint8Array => frame(garpReplyFields(mac, ip));
export const buildDirectedRequest = (mac: Uint8Array, ip: Uint8Array, upstream: Uint8Array): Uint8Array =>
  frame(directedRequestFields(mac, ip, upstream));

export interface ParsedArp {
  ethDst: string;
  ethSrc: string;
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Parses an Ethernet frame carrying IPv4-over-Ethernet ARP; null for anything else. */
export function parseArpFrame(buf: Uint8Array): ParsedArp | null {
  if (buf.length < ARP_FRAME_LENGTH) return null;
  if (((buf[12]! << 8) | buf[13]!) !== ETH_P_ARP) return null;
  if (buf[14] !== 0 || buf[15] !== 1 || buf[16] !== 8 || buf[17] !== 0 || buf[18] !== 6 || buf[19] !== 4) return null;
  return {
    ethDst: formatMac(buf.subarray(0, 6)),
    ethSrc: formatMac(buf.subarray(6, 12)),
    op: (buf[20]! << 8) | buf[21]!,
    senderMac: formatMac(buf.subarray(ARP_SENDER_MAC_OFFSET, ARP_SENDER_MAC_OFFSET + 6)),
    senderIp: formatIPv4(buf.subarray(ARP_SENDER_IP_OFFSET, ARP_SENDER_IP_OFFSET + 4)),
    targetMac: formatMac(buf.subarray(ARP_TARGET_MAC_OFFSET, ARP_TARGET_MAC_OFFSET + 6)),
    targetIp: formatIPv4(buf.subarray(ARP_TARGET_IP_OFFSET, ARP_TARGET_IP_OFFSET + 4)),
  };
}

export type ArpKind = 'garp-request' | 'garp-reply' | 'directed-request' | 'other';

/** How a receiver would classify the frame (used by captures in tests, bench and lab). */
export function classifyArp(p: ParsedArp): ArpKind {
  if (p.op === ARP_REQUEST && p.senderIp === p.targetIp) return 'garp-request';
  if (p.op === ARP_REPLY && p.senderIp === p.targetIp && p.senderMac === p.targetMac) return 'garp-reply';
  if (p.op === ARP_REQUEST) return 'directed-request';
  return 'other';
}
