import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CRC32C_IMPLEMENTATION, crc32c, crc32cJs, crc32cNative } from '../../lib/core/segment/crc.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

test('crc32c gives the standard check value for "123456789" in both implementations', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32cJs(ascii('123456789')), 0xe3069283);
  assert.equal(crc32cJs(new Uint8Array(0)), 0);
});

test('the native CRC32C is what runs on this machine (linux-x64 has its binary installed)', () => {
  // npm installs @node-rs/crc32's binary for the platform it runs on; if it vanished, every checksum
  // would silently take the slow path.
  assert.equal(CRC32C_IMPLEMENTATION, 'native');
  assert.ok(crc32cNative !== undefined);
});

test('the native and JavaScript CRC32C agree on any bytes, offsets into shared buffers included', () => {
  const native = crc32cNative;
  assert.ok(native !== undefined);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(64), (bytes, cut) => {
      const view = bytes.subarray(Math.min(cut, bytes.length));
      assert.equal(native(bytes), crc32cJs(bytes));
      assert.equal(native(view), crc32cJs(view));
      assert.ok(native(bytes) >= 0 && native(bytes) <= 0xffffffff);
    }),
    { numRuns: 500 },
  );
});

test('the two agree on a 1 MiB buffer and a Buffer view', () => {
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 131 + 7) & 0xff);
  assert.equal(crc32c(big), crc32cJs(big));
  const buf = Buffer.from(big.buffer, 4096, 70_000);
  assert.equal(crc32c(buf), crc32cJs(buf));
});
