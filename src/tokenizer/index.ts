import { UnsupportedModelError } from '../errors';
import type { TokenizerSource } from '../model/types';
import { hfTokenizer } from './hf';
import { llama2cTokenizer } from './llama2c';
import type { Tokenizer } from './types';

export type { Tokenizer, ChatMessage, StreamDecoder } from './types';

/**
 * The tokenizer a loaded model carries; `eosIds` adds the model's own (config/generation_config);
 * `modelVocab`, the model's vocabulary size, bounds the ids tokenizer.json may assign.
 * Synchronous, so `await createTokenizer(...)` and plain calls both work.
 */
export function createTokenizer(source: TokenizerSource, eosIds: number[] = [], modelVocab?: number): Tokenizer {
  switch (source.kind) {
    case 'hf':
      return hfTokenizer(source.tokenizerJson, source.tokenizerConfig, eosIds, modelVocab);
    case 'llama2c':
      return llama2cTokenizer(source.bytes, source.vocabSize, eosIds);
    case 'none':
      throw new UnsupportedModelError('this model has no tokenizer (none beside it, none in its GGUF metadata): put its tokenizer.json (or llama2.c tokenizer.bin) beside it, or pass token ids');
  }
}
