// Types for snappyjs (pure-JS raw Snappy, MIT): the one function zkroll uses.
declare module 'snappyjs' {
  /** Decompress one raw Snappy block; throws when it is damaged or longer than `maxLength` bytes. */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer;
}
