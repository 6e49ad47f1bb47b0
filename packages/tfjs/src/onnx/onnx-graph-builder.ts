import * as onnxModule from 'onnx-proto';

// onnx-proto is CommonJS (`module.exports = $root`): Node's ESM loader exposes it as `default`, bundlers as the namespace.
export const onnx: typeof onnxModule.onnx =
  (onnxModule as unknown as { default?: typeof onnxModule }).default?.onnx ?? onnxModule.onnx;

/** An attribute value: a float, an int, a list of ints, a tensor element type (`{ type }` for Cast's `to`), or a string. */
export type AttributeValue =
  | number
  | number[]
  | { int: number }
  | { float: number }
  | { string: string };

/** A graph input or output: a name, an element type, and dimensions (numbers, or symbolic names). */
export interface ValueSpec {
  name: string;
  elementType: onnxModule.onnx.TensorProto.DataType;
  dimensions: (number | string)[];
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function littleEndianBytes(view: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(view.byteLength);
  if (littleEndianHost) {
    bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    return bytes;
  }
  const data = new DataView(bytes.buffer);
  view.forEach((value: number | bigint, index: number) => {
    if (typeof value === 'bigint') data.setBigInt64(8 * index, value, true);
    else data.setFloat32(4 * index, value, true);
  });
  return bytes;
}

/**
 * Builds an ONNX graph node by node with unique value names, then encodes
 * it as a `ModelProto` (https://onnx.ai/onnx/repo-docs/IR.html).
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnxModule.onnx.INodeProto[] = [];
  private readonly initializers: onnxModule.onnx.ITensorProto[] = [];
  private readonly scalarCache = new Map<string, string>();
  private counter = 0;

  /** A fresh value name with a readable stem. */
  fresh(stem: string): string {
    this.counter += 1;
    return `${stem}_${this.counter}`;
  }

  /** Adds a float32 initializer (weights are stored as little-endian raw data). */
  floatTensor(name: string, dimensions: number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims: dimensions,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: littleEndianBytes(data),
    });
    return name;
  }

  /** Adds an int64 initializer. */
  int64Tensor(name: string, dimensions: number[], values: readonly number[]): string {
    const data = BigInt64Array.from(values, (value) => BigInt(value));
    this.initializers.push({
      name,
      dims: dimensions,
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: littleEndianBytes(data),
    });
    return name;
  }

  /** A shared float32 scalar constant. */
  floatScalar(value: number): string {
    const key = `f${value}`;
    const cached = this.scalarCache.get(key);
    if (cached !== undefined) return cached;
    const name = this.floatTensor(this.fresh('const_float'), [], new Float32Array([value]));
    this.scalarCache.set(key, name);
    return name;
  }

  /** A shared int64 constant: a scalar, or a 1-D list when `values` is an array. */
  int64Constant(values: number | readonly number[]): string {
    const key = `i${JSON.stringify(values)}`;
    const cached = this.scalarCache.get(key);
    if (cached !== undefined) return cached;
    const name = Array.isArray(values)
      ? this.int64Tensor(this.fresh('const_ints'), [values.length], values)
      : this.int64Tensor(this.fresh('const_int'), [], [values as number]);
    this.scalarCache.set(key, name);
    return name;
  }

  /** Appends a node and returns its output names (fresh ones unless given). */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: number | readonly string[] = 1,
  ): string[] {
    const outputNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()))
        : [...outputs];
    const attributeProtos = Object.entries(attributes).map(
      ([name, value]): onnxModule.onnx.IAttributeProto => {
        if (Array.isArray(value))
          return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
        if (typeof value === 'object' && 'string' in value)
          return {
            name,
            type: onnx.AttributeProto.AttributeType.STRING,
            s: new TextEncoder().encode(value.string),
          };
        if (typeof value === 'object' && 'float' in value)
          return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
        const integer = typeof value === 'object' ? value.int : value;
        return { name, type: onnx.AttributeProto.AttributeType.INT, i: integer };
      },
    );
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outputNames,
      name: this.fresh(`${opType}_node`),
      attribute: attributeProtos,
    });
    return outputNames;
  }

  /** Like {@link OnnxGraphBuilder.node} with one output, returned as a string. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    output?: string,
  ): string {
    return this.node(opType, inputs, attributes, output === undefined ? 1 : [output])[0] as string;
  }

  /** Encodes the graph as a serialized `ModelProto`. */
  toModel(options: {
    name: string;
    inputs: ValueSpec[];
    outputs: ValueSpec[];
    opsetVersion: number;
    producerName: string;
    docString?: string;
  }): Uint8Array {
    const valueInfo = (spec: ValueSpec): onnxModule.onnx.IValueInfoProto => ({
      name: spec.name,
      type: {
        tensorType: {
          elemType: spec.elementType,
          shape: {
            dim: spec.dimensions.map((dimension) =>
              typeof dimension === 'number' ? { dimValue: dimension } : { dimParam: dimension },
            ),
          },
        },
      },
    });
    const model: onnxModule.onnx.IModelProto = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: options.opsetVersion }],
      producerName: options.producerName,
      docString: options.docString ?? null,
      graph: {
        name: options.name,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map(valueInfo),
        output: options.outputs.map(valueInfo),
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
