// Deterministic pseudo-random byte streams: an AES-128-CTR keystream keyed
// by a seed. Both ends of a transfer can produce the same bytes without
// sending them twice, chunking does not change the stream, and it is fast
// enough for many MiB. Random-looking data also defeats any accidental
// "works only for zeros" path.
import crypto from 'node:crypto';

export class Pattern {
  constructor(seed) {
    const key = crypto.createHash('sha256').update(`mcpfence-pattern:${seed}`).digest();
    this.cipher = crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  next(length) {
    return this.cipher.update(Buffer.alloc(length));
  }
}

export function sha256(buffer) {
  return crypto.createHash('sha256').update(buffer).digest('hex');
}
