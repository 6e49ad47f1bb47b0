import { InvalidArgumentError } from '@cohort/core';
import type { JsonValue, ValueCodec } from './genome-kind';

const typedArrayTag = '$typedArray';

/**
 * Encodes a genome value as JSON data: strings, finite numbers, booleans,
 * null, arrays and plain objects pass through; a `Float32Array` or
 * `Float64Array` becomes `{ $typedArray: 'float32' | 'float64', values: number[] }`
 * (a float32 survives the round trip through a JSON double exactly).
 *
 * @throws InvalidArgumentError naming the path of a value JSON cannot hold
 * (NaN, Infinity, undefined, functions, other classes).
 *
 * @example
 * ```ts
 * encodeJsonValue(new Float32Array([0.5])); // { $typedArray: 'float32', values: [0.5] }
 * ```
 */
export function encodeJsonValue(value: unknown, path = 'value'): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new InvalidArgumentError({ argument: path, value, message: 'JSON cannot hold it' });
    }
    return value;
  }
  if (value instanceof Float32Array || value instanceof Float64Array) {
    return {
      [typedArrayTag]: value instanceof Float32Array ? 'float32' : 'float64',
      values: Array.from(value, (element, index) => encodeJsonValue(element, `${path}[${index}]`)),
    };
  }
  if (Array.isArray(value)) {
    return value.map((element, index) => encodeJsonValue(element, `${path}[${index}]`));
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const result: { [key: string]: JsonValue } = {};
    for (const [key, element] of Object.entries(value)) {
      result[key] = encodeJsonValue(element, `${path}.${key}`);
    }
    return result;
  }
  throw new InvalidArgumentError({
    argument: path,
    value: typeof value,
    message: 'is not JSON data or a Float32Array/Float64Array; give the genome kind a codec',
  });
}

/**
 * Inverse of {@link encodeJsonValue}: rebuilds typed arrays from their tagged form.
 *
 * @example
 * ```ts
 * decodeJsonValue({ $typedArray: 'float32', values: [0.5] }); // Float32Array [0.5]
 * ```
 */
export function decodeJsonValue(json: JsonValue): unknown {
  if (Array.isArray(json)) return json.map(decodeJsonValue);
  if (json !== null && typeof json === 'object') {
    const tag = json[typedArrayTag];
    const values = json.values;
    if (typeof tag === 'string' && Array.isArray(values)) {
      const numbers = values.map(Number);
      return tag === 'float32' ? Float32Array.from(numbers) : Float64Array.from(numbers);
    }
    const result: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(json)) result[key] = decodeJsonValue(element);
    return result;
  }
  return json;
}

/**
 * The codec a population uses when its genome kind brings none:
 * {@link encodeJsonValue} and {@link decodeJsonValue}.
 *
 * @example
 * ```ts
 * const codec = jsonValueCodec<Float32Array>();
 * codec.decode(JSON.parse(JSON.stringify(codec.encode(new Float32Array([1, 2])))));
 * ```
 */
export function jsonValueCodec<Value>(): ValueCodec<Value> {
  return {
    encode: (value) => encodeJsonValue(value),
    decode: (json) => decodeJsonValue(json) as Value,
  };
}
