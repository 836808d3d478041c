/**
 * Writes two tiny, deterministic BERT-shaped models in the Hugging Face layout, so that tests
 * (and a laptop without network) can run the real `@huggingface/transformers` code path:
 *
 * - `<outDir>/tiny/embedder`: feature extraction, `last_hidden_state` of dimension 32;
 * - `<outDir>/tiny/reranker`: a cross-encoder with one `logits` column.
 *
 * The graphs are a single embedding lookup (plus a mean and a projection for the reranker), with
 * weights drawn from a seeded PRNG: the vectors are stable but carry no meaning. Each ONNX file is
 * written both as `onnx/model.onnx` (fp32) and `onnx/model_quantized.onnx` (what `dtype: 'q8'`
 * loads; here the same fp32 graph), so either dtype finds it. Same bytes on every run.
 *
 * Usage: `npx tsx scripts/make-tiny-model.ts <outDir>`
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

const HIDDEN_SIZE = 32;
const MAX_LENGTH = 128;
const EMBEDDER_ID = 'tiny/embedder';
const RERANKER_ID = 'tiny/reranker';

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const WORDS = `
the of and to a in is it you that he was for on are with as i his they be at one have this from
or had by not word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made
live where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
server client install update delete create query search index document file page text answer
question cite source model vector embed token cache memory disk network request response error
status code user admin password login session database table column row schema migration backup
restore deploy release version config setting option value key secret edge worker origin proxy
stream chunk split merge rank score retrieve store load fetch send receive open close start stop
run test check build compile bread bake recipe flour oven cat dog garden flower river mountain
`
  .split(/\s+/)
  .filter((word) => word.length > 0);

const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const PUNCTUATION = '.,;:!?\'"()[]{}-_/\\@#$%&*+=<>'.split('');
const SUFFIXES = ['s', 'es', 'ed', 'er', 'ers', 'ing', 'ly', 'ion', 'ions', 'ment', 'ness'];

/** Special tokens first (ids 0-4), then words, single characters and `##` continuation pieces. */
function buildVocab(): string[] {
  const tokens = [
    ...SPECIAL_TOKENS,
    ...WORDS,
    ...LETTERS,
    ...PUNCTUATION,
    ...SUFFIXES.map((suffix) => `##${suffix}`),
    ...LETTERS.map((letter) => `##${letter}`),
  ];
  return [...new Set(tokens)];
}

/** mulberry32: a small seeded PRNG, enough for reproducible weights. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(name: string, dims: number[], seed: number): onnxProto.onnx.ITensorProto {
  const random = mulberry32(seed);
  const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = random() * 2 - 1;
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(values.buffer),
  };
}

function tensorInfo(
  name: string,
  elemType: number,
  dims: (string | number)[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })),
        },
      },
    },
  };
}

const INT64 = onnx.TensorProto.DataType.INT64;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** The three inputs a BERT export takes; only `input_ids` is used by these graphs. */
const BERT_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'].map((name) =>
  tensorInfo(name, INT64, ['batch_size', 'sequence_length']),
);

function encodeModel(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'ragedge-make-tiny-model',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  }).finish();
}

function embedderGraph(vocabSize: number): Uint8Array {
  return encodeModel({
    name: 'tiny_embedder',
    initializer: [randomTensor('embeddings', [vocabSize, HIDDEN_SIZE], 1)],
    node: [
      {
        opType: 'Gather',
        input: ['embeddings', 'input_ids'],
        output: ['last_hidden_state'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
    ],
    input: BERT_INPUTS,
    output: [
      tensorInfo('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', HIDDEN_SIZE]),
    ],
  });
}

function rerankerGraph(vocabSize: number): Uint8Array {
  return encodeModel({
    name: 'tiny_reranker',
    initializer: [
      randomTensor('embeddings', [vocabSize, HIDDEN_SIZE], 2),
      randomTensor('classifier', [HIDDEN_SIZE, 1], 3),
    ],
    node: [
      {
        opType: 'Gather',
        input: ['embeddings', 'input_ids'],
        output: ['hidden'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
      {
        opType: 'ReduceMean',
        input: ['hidden'],
        output: ['pooled'],
        attribute: [
          { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
          { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
      { opType: 'MatMul', input: ['pooled', 'classifier'], output: ['logits'] },
    ],
    input: BERT_INPUTS,
    output: [tensorInfo('logits', FLOAT, ['batch_size', 1])],
  });
}

function tokenizerJson(vocab: readonly string[]): object {
  const idOf = (token: string) => vocab.indexOf(token);
  const special = (token: string, typeId: number) => ({
    SpecialToken: { id: token, type_id: typeId },
  });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: idOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [
        special('[CLS]', 0),
        sequence('A', 0),
        special('[SEP]', 0),
        sequence('B', 1),
        special('[SEP]', 1),
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((token) => [
          token,
          { id: token, ids: [idOf(token)], tokens: [token] },
        ]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
    },
  };
}

const TOKENIZER_CONFIG = {
  do_lower_case: true,
  model_max_length: MAX_LENGTH,
  tokenizer_class: 'BertTokenizer',
  clean_up_tokenization_spaces: true,
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};

const SPECIAL_TOKENS_MAP = {
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};

function bertConfig(vocabSize: number, extra: object): object {
  return {
    model_type: 'bert',
    hidden_size: HIDDEN_SIZE,
    num_attention_heads: 1,
    num_hidden_layers: 0,
    intermediate_size: HIDDEN_SIZE,
    max_position_embeddings: MAX_LENGTH,
    vocab_size: vocabSize,
    type_vocab_size: 2,
    pad_token_id: 0,
    ...extra,
  };
}

async function writeModel(
  dir: string,
  files: { config: object; tokenizer: object; onnx: Uint8Array },
): Promise<void> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const json = (value: object) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(join(dir, 'config.json'), json(files.config));
  await writeFile(join(dir, 'tokenizer.json'), json(files.tokenizer));
  await writeFile(join(dir, 'tokenizer_config.json'), json(TOKENIZER_CONFIG));
  await writeFile(join(dir, 'special_tokens_map.json'), json(SPECIAL_TOKENS_MAP));
  await writeFile(join(dir, 'onnx', 'model.onnx'), files.onnx);
  await writeFile(join(dir, 'onnx', 'model_quantized.onnx'), files.onnx);
}

/** Writes `tiny/embedder` and `tiny/reranker` under `outDir` and returns their model ids. */
export async function makeTinyModels(
  outDir: string,
): Promise<{ embedderId: string; rerankerId: string }> {
  const vocab = buildVocab();
  const tokenizer = tokenizerJson(vocab);
  await writeModel(join(outDir, EMBEDDER_ID), {
    config: bertConfig(vocab.length, { architectures: ['BertModel'] }),
    tokenizer,
    onnx: embedderGraph(vocab.length),
  });
  await writeModel(join(outDir, RERANKER_ID), {
    config: bertConfig(vocab.length, {
      architectures: ['BertForSequenceClassification'],
      id2label: { '0': 'LABEL_0' },
      label2id: { LABEL_0: 0 },
    }),
    tokenizer,
    onnx: rerankerGraph(vocab.length),
  });
  return { embedderId: EMBEDDER_ID, rerankerId: RERANKER_ID };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('Usage: npx tsx scripts/make-tiny-model.ts <outDir>');
    process.exitCode = 2;
  } else {
    const ids = await makeTinyModels(resolve(outDir));
    console.log(`Wrote ${ids.embedderId} and ${ids.rerankerId} under ${resolve(outDir)}`);
  }
}
