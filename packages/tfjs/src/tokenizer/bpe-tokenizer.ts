import {
  type ChatTemplateOptions,
  InvalidArgumentError,
  type Message,
  MessageSchema,
  parseWithSchema,
  type Tokenizer,
} from '@cohort/core';
import { z } from 'zod';
import { byteLevelPreTokenize, byteToCharacter, characterToByte } from './byte-level';

/** The special tokens every {@link BpeTokenizer} has: end of text, the two ChatML turn markers, and padding. */
export const standardSpecialTokens = {
  endOfText: '<|endoftext|>',
  turnStart: '<|im_start|>',
  turnEnd: '<|im_end|>',
  pad: '<|pad|>',
} as const;

/**
 * The ChatML template (as a Jinja string, the form `tokenizer_config.json`
 * holds): every message renders as `<|im_start|>{role}\n{content}<|im_end|>\n`;
 * with `add_generation_prompt`, `<|im_start|>assistant\n` follows.
 */
export const chatMlJinjaTemplate =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** What defines a {@link BpeTokenizer}. */
export interface BpeTokenizerDefinition {
  /** Token text of every id: byte-level characters (see `byteToCharacter`), or a special token's text. */
  vocab: readonly string[];
  /** Merge rules, highest priority first. */
  merges: readonly (readonly [string, string])[];
  /** Texts of the special tokens (each also in `vocab`); must include the four of {@link standardSpecialTokens}. */
  specialTokens: readonly string[];
  /**
   * The pre-tokenization regex (global, unicode), written to `tokenizer.json`
   * as a `Split` before a byte-level step without its own regex, as Llama 3's
   * and Qwen2's tokenizers are. Default: GPT-2's pattern, as the byte-level
   * step's own regex.
   */
  preTokenizePattern?: RegExp;
}

const AddedTokenSchema = z
  .object({
    id: z.number().int().nonnegative(),
    content: z.string(),
    special: z.boolean().optional(),
  })
  .loose();
const TokenizerJsonSchema = z
  .object({
    added_tokens: z.array(AddedTokenSchema).default([]),
    model: z
      .object({
        type: z.literal('BPE'),
        vocab: z.record(z.string(), z.number().int().nonnegative()),
        merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
      })
      .loose(),
    pre_tokenizer: z.union([
      z.object({ type: z.literal('ByteLevel'), use_regex: z.literal(true).optional() }).loose(),
      z
        .object({
          type: z.literal('Sequence'),
          pretokenizers: z.tuple([
            z
              .object({
                type: z.literal('Split'),
                pattern: z.object({ Regex: z.string() }),
                behavior: z.literal('Isolated'),
                invert: z.literal(false),
              })
              .loose(),
            z.object({ type: z.literal('ByteLevel'), use_regex: z.literal(false) }).loose(),
          ]),
        })
        .loose(),
    ]),
  })
  .loose();

/** Segments {@link BpeTokenizer} keeps the ids of (the messages of a few hundred conversations). */
const segmentCacheSize = 1024;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A GPT-2-style byte-level BPE tokenizer (Sennrich et al. 2016; byte-level
 * form from Radford et al. 2019) with ChatML turns, implementing the core
 * {@link Tokenizer} protocol. Encoding matches transformers.js on the
 * `tokenizer.json` that {@link BpeTokenizer.toFiles} writes: text is split on
 * special tokens, pre-tokenized with GPT-2's pattern, written as byte-level
 * characters, and each piece is merged by repeatedly joining its
 * lowest-ranked adjacent pair (leftmost first).
 *
 * @example
 * ```ts
 * const tokenizer = trainBpeTokenizer({ texts: ['hello world', 'hello there'], vocabSize: 280 });
 * const ids = tokenizer.applyChatTemplate([{ role: 'user', content: 'hello' }]);
 * tokenizer.decode(ids); // '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n'
 * tokenizer.toFiles(); // tokenizer.json, tokenizer_config.json, special_tokens_map.json by name
 * ```
 */
export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly endOfTurnTokenId: number;
  /** Id of `<|im_start|>`. */
  readonly turnStartTokenId: number;
  readonly vocab: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
  readonly specialTokens: readonly string[];
  /** The pre-tokenization regex; `undefined` for GPT-2's. */
  readonly preTokenizePattern: RegExp | undefined;
  private readonly ids: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly specialIds: Set<number>;
  private readonly specialPattern: RegExp;
  private readonly cache = new Map<string, number[]>();
  /**
   * Ids of whole segments between special tokens (a message's role and
   * content): a rollout renders its conversation again at every turn
   * (`ConversationTokens`), so each message is encoded once, not once per
   * turn. Cleared when full.
   */
  private readonly segmentCache = new Map<string, readonly number[]>();

  constructor(definition: BpeTokenizerDefinition) {
    this.vocab = [...definition.vocab];
    this.merges = definition.merges.map(([a, b]) => [a, b] as const);
    this.specialTokens = [...definition.specialTokens];
    const pattern = definition.preTokenizePattern;
    if (pattern !== undefined && !(pattern.global && pattern.unicode))
      throw new InvalidArgumentError({
        argument: 'preTokenizePattern',
        value: String(pattern),
        message: 'must be a global unicode regex (flags gu)',
      });
    this.preTokenizePattern = pattern;
    this.ids = new Map();
    this.vocab.forEach((token, id) => {
      if (this.ids.has(token))
        throw new InvalidArgumentError({
          argument: `vocab[${id}]`,
          value: token,
          message: `duplicates vocab[${this.ids.get(token)}]`,
        });
      this.ids.set(token, id);
    });
    for (const [byte, character] of byteToCharacter.entries()) {
      if (!this.ids.has(character))
        throw new InvalidArgumentError({
          argument: 'vocab',
          value: character,
          message: `lacks the byte-level token of byte ${byte}`,
        });
    }
    this.ranks = new Map();
    this.merges.forEach(([a, b], rank) => {
      if (!this.ids.has(a + b))
        throw new InvalidArgumentError({
          argument: `merges[${rank}]`,
          value: `${a} ${b}`,
          message: 'merges into a token that is not in the vocab',
        });
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    const idOf = (token: string): number => {
      const id = this.ids.get(token);
      if (id === undefined || !this.specialTokens.includes(token)) {
        throw new InvalidArgumentError({
          argument: 'specialTokens',
          value: this.specialTokens,
          message: `must include ${token}, which must also be in the vocab`,
        });
      }
      return id;
    };
    for (const token of this.specialTokens) {
      if (!this.ids.has(token))
        throw new InvalidArgumentError({
          argument: 'specialTokens',
          value: token,
          message: 'is not in the vocab',
        });
    }
    this.vocabSize = this.vocab.length;
    this.eosTokenId = idOf(standardSpecialTokens.endOfText);
    this.turnStartTokenId = idOf(standardSpecialTokens.turnStart);
    this.endOfTurnTokenId = idOf(standardSpecialTokens.turnEnd);
    this.padTokenId = idOf(standardSpecialTokens.pad);
    this.specialIds = new Set(this.specialTokens.map((token) => this.ids.get(token) as number));
    // Longest first, so a special token that contains another wins.
    const alternatives = [...this.specialTokens]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp);
    this.specialPattern = new RegExp(`(${alternatives.join('|')})`);
  }

  /**
   * Token ids of `text`. Special-token texts inside it become their special
   * ids, as transformers.js does.
   */
  encode(text: string): number[] {
    if (typeof text !== 'string')
      throw new InvalidArgumentError({
        argument: 'text',
        value: text,
        message: 'must be a string',
      });
    const ids: number[] = [];
    for (const segment of text.split(this.specialPattern)) {
      if (segment === '') continue;
      const specialId = this.specialTokens.includes(segment) ? this.ids.get(segment) : undefined;
      if (specialId !== undefined) {
        ids.push(specialId);
        continue;
      }
      let segmentIds = this.segmentCache.get(segment);
      if (segmentIds === undefined) {
        const encoded: number[] = [];
        for (const piece of byteLevelPreTokenize(segment, this.preTokenizePattern))
          for (const id of this.encodePiece(piece)) encoded.push(id);
        if (this.segmentCache.size >= segmentCacheSize) this.segmentCache.clear();
        this.segmentCache.set(segment, encoded);
        segmentIds = encoded;
      }
      for (const id of segmentIds) ids.push(id);
    }
    return ids;
  }

  /** Text of `tokenIds`; byte sequences that are not valid UTF-8 decode to U+FFFD. */
  decode(tokenIds: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const decoder = new TextDecoder('utf-8');
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) text += decoder.decode(new Uint8Array(bytes));
      bytes = [];
    };
    tokenIds.forEach((id, index) => {
      const token = this.vocab[id];
      if (!Number.isInteger(id) || token === undefined) {
        throw new InvalidArgumentError({
          argument: `tokenIds[${index}]`,
          value: id,
          message: `must be an integer in [0, ${this.vocabSize})`,
        });
      }
      if (this.specialIds.has(id)) {
        flush();
        if (!options.skipSpecialTokens) text += token;
        return;
      }
      for (const character of token) bytes.push(characterToByte.get(character) as number);
    });
    flush();
    return text;
  }

  /** The ChatML text of a conversation (see {@link chatMlJinjaTemplate}). */
  renderChatTemplate(messages: readonly Message[], options: ChatTemplateOptions = {}): string {
    let text = '';
    messages.forEach((message, index) => {
      const parsed = parseWithSchema(MessageSchema, message, `messages[${index}]`);
      text += `${standardSpecialTokens.turnStart}${parsed.role}\n${parsed.content}${standardSpecialTokens.turnEnd}\n`;
    });
    if (options.addGenerationPrompt ?? true)
      text += `${standardSpecialTokens.turnStart}assistant\n`;
    return text;
  }

  /**
   * Token ids of a conversation in ChatML. Because every turn starts with the
   * special `<|im_start|>` and ends with `<|im_end|>\n`, the ids of
   * `messages.slice(0, k)` are a prefix of those of `messages` (without the
   * generation prompt).
   */
  applyChatTemplate(messages: readonly Message[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.renderChatTemplate(messages, options));
  }

  /** The `tokenizer.json` object (Hugging Face tokenizers format) that transformers.js loads. */
  toTokenizerJson(): Record<string, unknown> {
    const byteLevel = {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map((content) => ({
        id: this.ids.get(content),
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer:
        this.preTokenizePattern === undefined
          ? byteLevel
          : {
              type: 'Sequence',
              pretokenizers: [
                {
                  type: 'Split',
                  pattern: { Regex: this.preTokenizePattern.source },
                  behavior: 'Isolated',
                  invert: false,
                },
                { ...byteLevel, use_regex: false },
              ],
            },
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.vocab.map((token, id) => [token, id])),
        // Byte-level tokens never contain a space, so the classic "a b" form is unambiguous and readable everywhere.
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  /** The `tokenizer_config.json` object: the chat template, special tokens, and no cleanup of spaces on decode. */
  toTokenizerConfig(): Record<string, unknown> {
    return {
      tokenizer_class: 'GPT2Tokenizer',
      add_bos_token: false,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      model_max_length: 1_000_000,
      bos_token: standardSpecialTokens.endOfText,
      eos_token: standardSpecialTokens.endOfText,
      pad_token: standardSpecialTokens.pad,
      unk_token: null,
      additional_special_tokens: this.specialTokens.filter(
        (token) => token !== standardSpecialTokens.endOfText && token !== standardSpecialTokens.pad,
      ),
      added_tokens_decoder: Object.fromEntries(
        this.specialTokens.map((content) => [
          String(this.ids.get(content)),
          {
            content,
            lstrip: false,
            normalized: false,
            rstrip: false,
            single_word: false,
            special: true,
          },
        ]),
      ),
      chat_template: chatMlJinjaTemplate,
    };
  }

  /** The `special_tokens_map.json` object. */
  toSpecialTokensMap(): Record<string, unknown> {
    const config = this.toTokenizerConfig();
    return {
      bos_token: config.bos_token,
      eos_token: config.eos_token,
      pad_token: config.pad_token,
      additional_special_tokens: config.additional_special_tokens,
    };
  }

  /** `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` as JSON texts, by file name. */
  toFiles(): Record<string, string> {
    return {
      'tokenizer.json': `${JSON.stringify(this.toTokenizerJson())}\n`,
      'tokenizer_config.json': `${JSON.stringify(this.toTokenizerConfig(), null, 2)}\n`,
      'special_tokens_map.json': `${JSON.stringify(this.toSpecialTokensMap(), null, 2)}\n`,
    };
  }

  /**
   * A tokenizer from a parsed `tokenizer.json` (byte-level BPE, merges as
   * `"a b"` strings or `[a, b]` pairs). Its special tokens are the
   * `added_tokens` marked special.
   */
  static fromTokenizerJson(json: unknown): BpeTokenizer {
    const parsed = parseWithSchema(TokenizerJsonSchema, json, 'tokenizer.json');
    const vocab: string[] = [];
    for (const [token, id] of Object.entries(parsed.model.vocab)) vocab[id] = token;
    for (const added of parsed.added_tokens) vocab[added.id] = added.content;
    for (let id = 0; id < vocab.length; id++) {
      if (vocab[id] === undefined)
        throw new InvalidArgumentError({
          argument: 'tokenizer.json model.vocab',
          value: id,
          message: 'ids must run from 0 without gaps',
        });
    }
    const merges = parsed.model.merges.map((merge) => {
      if (Array.isArray(merge)) return merge;
      const [a = '', b = ''] = merge.split(' ');
      return [a, b] as const;
    });
    const specialTokens = parsed.added_tokens
      .filter((added) => added.special !== false)
      .map((added) => added.content);
    const preTokenizer = parsed.pre_tokenizer;
    return new BpeTokenizer({
      vocab,
      merges,
      specialTokens,
      ...(preTokenizer.type === 'Sequence'
        ? { preTokenizePattern: new RegExp(preTokenizer.pretokenizers[0].pattern.Regex, 'gu') }
        : {}),
    });
  }

  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    let symbols = Array.from(piece);
    while (symbols.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY;
      let bestPair = '';
      for (let index = 0; index + 1 < symbols.length; index++) {
        const key = `${symbols[index]} ${symbols[index + 1]}`;
        const rank = this.ranks.get(key);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestPair = key;
        }
      }
      if (bestRank === Number.POSITIVE_INFINITY) break;
      const merged: string[] = [];
      for (let index = 0; index < symbols.length; index++) {
        const current = symbols[index] as string;
        if (index + 1 < symbols.length && `${current} ${symbols[index + 1]}` === bestPair) {
          merged.push(current + (symbols[index + 1] as string));
          index++;
        } else {
          merged.push(current);
        }
      }
      symbols = merged;
    }
    const ids = symbols.map((symbol) => this.ids.get(symbol) as number);
    if (this.cache.size < 50_000) this.cache.set(piece, ids);
    return ids;
  }
}
