// The one way zkroll writes a zxid: 0x and lowercase hex of the 64-bit value (epoch in the high
// 32 bits, counter in the low 32), as ZooKeeper's own srvr output and file names do
// (e.g. log.100000001; ZxidUtils in the ZooKeeper sources). Pure.

/** `0x100000005` for 0x100000005n; `none` (default "-") when there is no zxid. */
export function hexZxid(z: bigint | null | undefined, none = '-'): string {
  return z === null || z === undefined ? none : `0x${z.toString(16)}`;
}
