/**
 * CRC-64-AVRO (Rabin) fingerprint, as the Avro specification defines it for single-object encoding.
 * avsc's own `fingerprint()` hashes with crypto algorithms (MD5, SHA-256), not this one.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) {
      fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    }
    table.push(fp & MASK);
  }
  return table;
})();

export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  }
  return fp & MASK;
}

/** The 8 fingerprint bytes as single-object encoding writes them: little-endian. */
export function fingerprintBytes(canonicalSchema: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalSchema, 'utf8')));
  return out;
}
