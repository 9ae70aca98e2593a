/**
 * `engine.chat.completions.create`, in the shapes of OpenAI's chat-completions API (as WebLLM
 * offers it): the model's chat template renders the messages, and when a request extends the
 * conversation the engine holds (the same messages plus the reply it gave plus new ones), only the
 * new part is fed to the compressed cache instead of recomputing the history.
 */
import { D2OError } from '../errors';
import { checkChatRequest } from './arguments';
import type { ChatMessage } from '../tokenizer';
import type { Conversation, FinishReason, GenerationStats } from './conversation';
import { GenerationStream } from './stream';

/** A message as OpenAI takes it: its content is text, or an array of text parts (joined). */
export interface ChatRequestMessage {
  role: ChatMessage['role'];
  content: string | readonly { type: 'text'; text: string }[];
}

export interface ChatCompletionRequest {
  messages: readonly ChatRequestMessage[];
  stream?: boolean;
  /** With `stream`, a last chunk carries `usage`. */
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  /** Only 1. */
  n?: number | null;
  /** Extensions: top-k and the repetition penalty of the GPU sampler. */
  top_k?: number | null;
  repetition_penalty?: number | null;
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Tokens of the prompt already in the (compressed) cache from the previous turn. */
  prompt_tokens_details: { cached_tokens: number };
  /** Speed and KV statistics of this completion. */
  extra: GenerationStats;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string }; finish_reason: FinishReason; logprobs: null }[];
  usage: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: FinishReason | null; logprobs: null }[];
  usage?: CompletionUsage;
}

export type ChatCompletionStream = GenerationStream<ChatCompletionChunk, ChatCompletion>;

/** `engine.chat.completions`, the same on the engine and on a worker engine. */
export interface ChatCompletionsApi {
  create(req: ChatCompletionRequest & { stream: true }, opts?: { signal?: AbortSignal }): Promise<ChatCompletionStream>;
  create(req: ChatCompletionRequest & { stream?: false | null }, opts?: { signal?: AbortSignal }): Promise<ChatCompletion>;
  create(req: ChatCompletionRequest, opts?: { signal?: AbortSignal }): Promise<ChatCompletion | ChatCompletionStream>;
}

export class ChatCompletions implements ChatCompletionsApi {
  private count = 0;

  constructor(
    private readonly conversation: Conversation,
    /** What the `model` fields report. */
    private readonly model: string,
  ) {}

  create(req: ChatCompletionRequest & { stream: true }, opts?: { signal?: AbortSignal }): Promise<ChatCompletionStream>;
  create(req: ChatCompletionRequest & { stream?: false | null }, opts?: { signal?: AbortSignal }): Promise<ChatCompletion>;
  create(req: ChatCompletionRequest, opts?: { signal?: AbortSignal }): Promise<ChatCompletion | ChatCompletionStream>;
  async create(req: ChatCompletionRequest, opts: { signal?: AbortSignal } = {}): Promise<ChatCompletion | ChatCompletionStream> {
    const conversation = this.conversation;
    const tokenizer = conversation.tokenizer;
    conversation.assertLive();
    const messages = checkChatRequest(req);
    if (!tokenizer) throw new D2OError('chat needs a model with a tokenizer');
    const rendered = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const id = `chatcmpl-${Date.now().toString(36)}-${++this.count}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.model;
    const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });

    const stream = new GenerationStream<ChatCompletionChunk, ChatCompletion>((emit) =>
      conversation.exclusive(async () => {
        emit(chunk({ role: 'assistant', content: '' }, null));
        const r = await conversation.turn(
          rendered,
          {
            // The whole conversation: the longest token prefix the cache holds is reused.
            reuse: true,
            // A chat template writes BOS itself; plain story models get it from the tokenizer.
            addBos: !tokenizer.hasChatTemplate,
            signal: opts.signal,
            maxTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
            stop: req.stop ?? undefined,
            temperature: req.temperature ?? undefined,
            topP: req.top_p ?? undefined,
            topK: req.top_k ?? undefined,
            repetitionPenalty: req.repetition_penalty ?? undefined,
            seed: req.seed ?? undefined,
          },
          (c) => {
            if (c.text) emit(chunk({ content: c.text }, null));
          },
        );
        const usage: CompletionUsage = {
          prompt_tokens: r.stats.promptTokens,
          completion_tokens: r.stats.completionTokens,
          total_tokens: r.stats.promptTokens + r.stats.completionTokens,
          prompt_tokens_details: { cached_tokens: r.stats.cachedTokens },
          extra: r.stats,
        };
        emit(chunk({}, r.finishReason));
        if (req.stream_options?.include_usage) emit({ ...chunk({}, null), choices: [], usage });
        return {
          id,
          object: 'chat.completion' as const,
          created,
          model,
          choices: [{ index: 0 as const, message: { role: 'assistant' as const, content: r.text }, finish_reason: r.finishReason, logprobs: null }],
          usage,
        };
      }),
    );
    if (req.stream) return stream;
    return stream.result;
  }
}
