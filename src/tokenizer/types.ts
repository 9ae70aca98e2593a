export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/**
 * One tokenizer API over tokenizer.json and llama2.c's tokenizer.bin.
 *
 * Decoding convention (reproduces golden.json's `text` from its `greedy_ids`): a text starts either
 * at the beginning of `ids` or after BOS; a leading BOS (or `prev` = BOS) prints nothing, as llama2.c
 * never prints its first token; every other id prints its piece, special tokens included
 * (`<|end_story|>`, llama2.c's BOS piece "\n<s>\n"); the first word's leading space is dropped at the
 * start of a text, and kept when `prev` is an ordinary token (a continuation of a prompt).
 */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  /** The tokenizer's EOS plus any the model adds (generation_config). */
  readonly eosIds: number[];
  /** `addBos` (default true): add what the format puts in front of a text (BOS). */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** `prev`: the id before ids[0], to decode a continuation (see the convention above). */
  decode(ids: readonly number[], prev?: number): string;
  /** Streaming decode: the pieces concatenate to decode(ids, prev); a UTF-8 character split over byte tokens waits for its last byte. */
  createDecoder(prev?: number): StreamDecoder;
  /** tokenizer_config.json has a chat template (else applyChatTemplate joins the contents). */
  readonly hasChatTemplate: boolean;
  /** The model's chat template, or for a model without one the message contents joined by "\n" (story models continue text). */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

export interface StreamDecoder {
  push(id: number): string;
  flush(): string;
}
