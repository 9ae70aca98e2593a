export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  /** `addBos` (default true) adds what the model's format puts in front (BOS). */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Decodes a continuation; special tokens are kept; `prev` is the id before ids[0] (llama2.c strips a space after BOS). */
  decode(ids: readonly number[], prev?: number): string;
  /** Incremental decoding for streaming: pieces concatenate to decode(all ids), never splitting a UTF-8 character. */
  createDecoder(prev?: number): StreamDecoder;
  /** The model's chat template (or a plain fallback) rendered to a prompt string. */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

export interface StreamDecoder {
  push(id: number): string;
  flush(): string;
}
