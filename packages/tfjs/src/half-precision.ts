const scratch = new DataView(new ArrayBuffer(4));

/**
 * The bfloat16 bit pattern nearest to `value` (ties to even): the upper 16
 * bits of its float32 pattern after adding `0x7fff + lsb` (the rounding that
 * PyTorch's `tensor.to(torch.bfloat16)` does). NaN stays a quiet NaN.
 *
 * @example
 * ```ts
 * floatToBfloat16Bits(1); // 0x3f80
 * ```
 */
export function floatToBfloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7fc0;
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * The IEEE 754 half-precision bit pattern nearest to `value` (ties to even),
 * with overflow to infinity and gradual underflow to subnormals
 * (`(-1)^s 2^(e-15) (1 + m/1024)`, subnormals `(-1)^s 2^-14 m/1024`).
 *
 * @example
 * ```ts
 * floatToHalfBits(-2); // 0xc000
 * ```
 */
export function floatToHalfBits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude === Number.POSITIVE_INFINITY) return sign | 0x7c00;
  // Subnormal range and zero: the value in units of 2^-24, rounded to nearest even.
  if (magnitude < 2 ** -14) return sign | roundHalfEven(magnitude * 2 ** 24);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent -= 1;
  if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  const mantissa = roundHalfEven((magnitude / 2 ** exponent - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent.
  const bits = ((exponent + 15) << 10) + mantissa;
  return bits >= 0x7c00 ? sign | 0x7c00 : sign | bits;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
