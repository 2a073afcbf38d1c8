/** RFC 1071 ones'-complement sum over byte chunks, folded and complemented. */
export function internetChecksum(...chunks: Uint8Array[]): number {
  let sum = 0;
  for (const chunk of chunks) {
    // Chunks are laid end to end; every chunk used here has even length except possibly the last.
    for (let i = 0; i + 1 < chunk.length; i += 2) sum += (chunk[i]! << 8) | chunk[i + 1]!;
    if (chunk.length % 2 === 1) sum += chunk[chunk.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
