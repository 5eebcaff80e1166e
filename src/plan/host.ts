// Host spellings: a plan may write an IPv6 address bare ("2001:db8::11") or in brackets
// ("[2001:db8::11]"); zkroll keeps it bare and adds brackets where ZooKeeper needs them (server.N
// lines: QuorumPeer.QuorumServer.delimitedHostString; connect strings: ConnectStringParser
// reads "[addr]:port"). Probes and SSH connect to the bare address. Pure.
import { isIPv6 as netIsIPv6 } from 'node:net';

/** True for an IPv6 literal without brackets ("2001:db8::1", "fe80::1%eth0"). */
export function isIPv6(host: string): boolean {
  return netIsIPv6(host);
}

/** "[2001:db8::1]" → "2001:db8::1" (blanks around it trimmed as Java's String.trim does); anything else unchanged. */
export function normalizeHost(host: string): string {
  const h = host.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** A host in brackets when it contains ':' (an IPv6 address), as ZooKeeper writes it. */
export function delimitHost(host: string): string {
  const h = normalizeHost(host);
  return h.includes(':') ? `[${h}]` : h;
}

/** "host:port" for connect strings and messages: "[::1]:2181" for IPv6, "zk1:2181" otherwise. */
export function formatHostPort(host: string, port: number): string {
  return `${delimitHost(host)}:${port}`;
}
