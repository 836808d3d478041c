/**
 * Tokenizes (query, passage) pairs for a cross-encoder the way the Python `transformers`
 * tokenizer does with `truncation=True` (the `longest_first` strategy).
 *
 * transformers.js 3.8 cannot do that itself: `tokenizer(queries, { text_pair, truncation: true })`
 * builds `[CLS] query [SEP] passage [SEP]` and then cuts the joined ids at `max_length`
 * (`truncateHelper` shortens every array), so a long passage loses its closing `[SEP]` and a long
 * query can crowd the passage out. The model was trained on pairs that always end in `[SEP]`.
 * Here each side is tokenized alone, trimmed longest side first to fit the special tokens in,
 * then joined by the tokenizer's own post-processor, as `_encode_plus` joins them.
 */
import { type PreTrainedTokenizer, Tensor } from '@huggingface/transformers';

/** One tokenized pair, before padding. */
export interface EncodedPair {
  inputIds: number[];
  tokenTypeIds: number[] | undefined;
}

/** The padded tensors of one batch, named as the ONNX inputs are. */
export interface PairBatch {
  input_ids: Tensor;
  attention_mask: Tensor;
  token_type_ids?: Tensor;
}

/**
 * How many tokens of each side to keep so that `first + second <= budget`, taking tokens off the
 * longer side one at a time (from the second on a tie), as Python's `longest_first` does.
 */
export function longestFirst(first: number, second: number, budget: number): [number, number] {
  const target = Math.max(0, budget);
  if (first + second <= target) return [first, second];
  const half = Math.floor(target / 2);
  if (first <= half) return [first, target - first];
  if (second <= half) return [target - second, second];
  return [target - half, half];
}

/** Number of special tokens the post-processor adds around a pair (3 for BERT). */
export function pairSpecialTokenCount(tokenizer: PreTrainedTokenizer): number {
  return joinPair(tokenizer, [], []).tokens.length;
}

/** Tokenizes `query` with each passage, each pair at most `maxTokens` long with its special tokens. */
export function encodePairs(
  tokenizer: PreTrainedTokenizer,
  query: string,
  passages: readonly string[],
  maxTokens: number,
): EncodedPair[] {
  const budget = maxTokens - pairSpecialTokenCount(tokenizer);
  const queryTokens = tokenizer.tokenize(query);
  const withTypes = tokenizer.return_token_type_ids;
  return passages.map((passage) => {
    const passageTokens = tokenizer.tokenize(passage);
    const [keepQuery, keepPassage] = longestFirst(queryTokens.length, passageTokens.length, budget);
    const joined = joinPair(
      tokenizer,
      queryTokens.slice(0, keepQuery),
      passageTokens.slice(0, keepPassage),
    );
    return {
      inputIds: tokenizer.model.convert_tokens_to_ids(joined.tokens),
      // Like `_encode_plus`: only tokenizers that declare token types send them (a RoBERTa model
      // has one type and would index out of range on the post-processor's 1s).
      tokenTypeIds: withTypes ? joined.token_type_ids : undefined,
    };
  });
}

function joinPair(
  tokenizer: PreTrainedTokenizer,
  first: string[],
  second: string[],
): { tokens: string[]; token_type_ids?: number[] } {
  // Some tokenizer.json files have no post-processor: the sides are then simply concatenated.
  const processor = tokenizer.post_processor as PreTrainedTokenizer['post_processor'] | null;
  if (processor === null) return { tokens: [...first, ...second] };
  return processor.post_process(first, second, { add_special_tokens: true });
}

/** Pads the pairs to the longest one, on the tokenizer's padding side, into int64 tensors. */
export function toBatch(tokenizer: PreTrainedTokenizer, pairs: readonly EncodedPair[]): PairBatch {
  const rows = pairs.length;
  const width = Math.max(1, ...pairs.map((pair) => pair.inputIds.length));
  const ids = new BigInt64Array(rows * width).fill(BigInt(tokenizer.pad_token_id ?? 0));
  const mask = new BigInt64Array(rows * width);
  const types = new BigInt64Array(rows * width);
  const withTypes = pairs.every((pair) => pair.tokenTypeIds !== undefined);
  for (const [row, pair] of pairs.entries()) {
    const length = pair.inputIds.length;
    const start = row * width + (tokenizer.padding_side === 'left' ? width - length : 0);
    for (let i = 0; i < length; i++) {
      ids[start + i] = BigInt(pair.inputIds[i] ?? 0);
      mask[start + i] = 1n;
      types[start + i] = BigInt(pair.tokenTypeIds?.[i] ?? 0);
    }
  }
  const dims = [rows, width];
  return {
    input_ids: new Tensor('int64', ids, dims),
    attention_mask: new Tensor('int64', mask, dims),
    ...(withTypes ? { token_type_ids: new Tensor('int64', types, dims) } : {}),
  };
}
