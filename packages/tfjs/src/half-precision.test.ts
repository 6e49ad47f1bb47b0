import { describe, expect, it } from 'vitest';
import { floatToBfloat16Bits, floatToHalfBits } from './half-precision';
import { halfToFloat, openSafetensors, readSafetensors, writeSafetensors } from './safetensors';

function bfloat16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

describe('half-precision encoding', () => {
  it('re-encodes every finite float16 and bfloat16 value to its own bit pattern', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const half = halfToFloat(bits);
      if (!Number.isNaN(half)) expect(floatToHalfBits(half)).toBe(bits);
      const brain = bfloat16ToFloat(bits);
      if (!Number.isNaN(brain)) expect(floatToBfloat16Bits(brain)).toBe(bits);
    }
  });

  it('rounds to nearest, ties to even, overflows to infinity and keeps NaN', () => {
    // 1 + 2^-11 lies halfway between float16 1 (0x3c00, even) and 1 + 2^-10 (0x3c01).
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(floatToHalfBits(70000)).toBe(0x7c00);
    expect(floatToHalfBits(-70000)).toBe(0xfc00);
    expect(floatToHalfBits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even 0
    expect(floatToHalfBits(3 * 2 ** -25)).toBe(2);
    expect(Number.isNaN(halfToFloat(floatToHalfBits(Number.NaN)))).toBe(true);
    // bfloat16: 1 + 2^-8 is halfway between 1 (0x3f80) and 1 + 2^-7 (0x3f81).
    expect(floatToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBfloat16Bits(-2)).toBe(0xc000);
    expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16Bits(Number.NaN)))).toBe(true);
  });

  it('writes BF16 and F16 safetensors that read back exactly, tensor by tensor', () => {
    const values = new Float32Array([1, -2.5, 0.1, 3e-5, 65504, -0.3333]);
    for (const dtype of ['BF16', 'F16'] as const) {
      const bytes = writeSafetensors(
        { w: { shape: [2, 3], data: values } },
        { format: 'pt' },
        { dtype },
      );
      const file = openSafetensors(bytes);
      expect(file.entry('w')).toEqual({ dtype, shape: [2, 3] });
      const decoded = file.tensor('w').data;
      const encode = dtype === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
      const widen = dtype === 'F16' ? halfToFloat : bfloat16ToFloat;
      expect(Array.from(decoded)).toEqual(
        Array.from(values, (value) => Math.fround(widen(encode(value)))),
      );
      expect(Array.from(readSafetensors(bytes).weights.w?.data ?? [])).toEqual(Array.from(decoded));
      expect(bytes.length).toBeLessThan(
        writeSafetensors({ w: { shape: [2, 3], data: values } }, { format: 'pt' }).length,
      );
    }
    expect(() => openSafetensors(writeSafetensors({})).tensor('missing')).toThrow(
      /has no tensor "missing"/,
    );
  });
});
