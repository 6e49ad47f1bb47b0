/**
 * GPT-2's pre-tokenization pattern (Radford et al. 2019, `encoder.py`):
 * common English contractions, letters, digits, other symbols (each with an
 * optional leading space), and whitespace runs, where a run before a non-space
 * leaves its last space to the next piece.
 */
export const gpt2PreTokenizePattern =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's reversible byte-to-character map: printable Latin-1 bytes
 * (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to themselves; the other 68 bytes map,
 * in byte order, to U+0100, U+0101, ... (so a space becomes `Ġ`). Every byte
 * string becomes a string of visible characters without spaces.
 *
 * @example
 * ```ts
 * byteToCharacter[32]; // 'Ġ'
 * byteToCharacter[65]; // 'A'
 * ```
 */
export const byteToCharacter: readonly string[] = (() => {
  const printable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) ||
    (byte >= 0xa1 && byte <= 0xac) ||
    (byte >= 0xae && byte <= 0xff);
  const table: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++)
    table.push(String.fromCharCode(printable(byte) ? byte : next++));
  return table;
})();

/** Inverse of {@link byteToCharacter}. */
export const characterToByte: ReadonlyMap<string, number> = new Map(
  byteToCharacter.map((character, byte) => [character, byte]),
);

/**
 * {@link gpt2PreTokenizePattern} with numbers cut into pieces of one or two
 * digits, left to right and without a leading space (`"12345"` becomes `12`,
 * `34`, `5`), as Llama 3 cuts numbers into pieces of up to three digits: every
 * 4-digit number is then the same two pieces wherever it stands.
 */
export const digitPairsPreTokenizePattern =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * The pre-tokenization pattern of `trainBpeTokenizer` with `separateSpaces`
 * (numbers in pieces of one or two digits with `digitPairs`, of any length
 * without): words and symbol runs never take a leading space, every run of
 * whitespace is a piece of its own. A word is then the same tokens wherever it
 * stands: `yusuf` after a space in a message and after a quote in a tool
 * call's JSON, where GPT-2's pattern makes ` yusuf` and `yusuf` two different
 * token sequences, so copying a name or an email from text into a call is a
 * copy instead of a translation.
 *
 * @example
 * ```ts
 * byteLevelPreTokenize('is yusuf', separateSpacesPreTokenizePattern(false)); // ['is', 'Ġ', 'yusuf']
 * ```
 */
export function separateSpacesPreTokenizePattern(digitPairs: boolean): RegExp {
  return digitPairs
    ? /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}{1,2}|[^\s\p{L}\p{N}]+|\s+/gu
    : /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+|\s+/gu;
}

const encoder = new TextEncoder();

/**
 * Splits text with `pattern` (a global regex; default
 * {@link gpt2PreTokenizePattern}) and writes each piece's UTF-8 bytes as
 * {@link byteToCharacter} characters.
 *
 * @example
 * ```ts
 * byteLevelPreTokenize("Hi there!"); // ['Hi', 'Ġthere', '!']
 * ```
 */
export function byteLevelPreTokenize(text: string, pattern = gpt2PreTokenizePattern): string[] {
  const pieces = text.match(pattern) ?? [];
  return pieces.map((piece) =>
    Array.from(encoder.encode(piece), (byte) => byteToCharacter[byte] as string).join(''),
  );
}
