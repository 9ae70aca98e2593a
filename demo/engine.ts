/**
 * The one place the demo creates an engine, so that where it runs is a single decision: a Web
 * Worker by default (the page stays responsive while weights load and tokens decode), or this page
 * with `?worker=0` (easier to debug). It is also the one place a conversation turn becomes engine
 * calls. The rest of the demo sees only DemoEngine.
 */
import {
  createEngine,
  createWorkerEngine,
  type ChatMessage,
  type EngineLike,
  type FinishReason,
  type GenerationStats,
  type KvMap,
  type KvStats,
  type ModelConfig,
  type ProgressCallback,
  type SamplingOptions,
  type WorkerEngineOptions,
} from '../src/index';
import { stripEndMarkers } from './format';

export type DemoEngineOptions = WorkerEngineOptions & { onProgress?: ProgressCallback; signal?: AbortSignal };

const IN_WORKER = new URLSearchParams(location.search).get('worker') !== '0';

export interface TurnOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  signal: AbortSignal;
}

/** A reply in progress: its text as it streams, then the whole of it. */
export interface Turn {
  deltas: AsyncIterable<string>;
  result: Promise<TurnResult>;
}

export interface TurnResult {
  text: string;
  finishReason: FinishReason;
  stats: GenerationStats;
  /** Chat: prompt tokens the compressed cache already held from the previous turns. */
  cachedTokens: number;
  /**
   * How the turn met the cache: a new conversation, a story extended in the cache, or a story the
   * model had ended, re-read (without its end markers) into a fresh cache so it can go on.
   */
  story: 'new' | 'continued' | 'reread' | null;
}

/** What the demo needs from an engine. */
export interface DemoEngine {
  readonly config: ModelConfig;
  /** false for story models: they continue text instead of answering. */
  readonly hasChatTemplate: boolean;
  /** The model's sampling defaults (generation_config.json), see demo/sampling-defaults.ts. */
  readonly samplingDefaults: SamplingOptions;
  /** Where it runs, for the status line. */
  readonly where: 'page' | 'worker';
  /** The reply to the last message of `messages` (the whole conversation so far). */
  reply(messages: readonly ChatMessage[], o: TurnOptions): Turn;
  kvStats(): Promise<KvStats>;
  kvMap(): Promise<KvMap>;
  reset(): Promise<void>;
  /** Runs two tokens and forgets them, so shader compilation is not counted as the first reply's prefill; returns seconds. */
  warmUp(): Promise<number>;
  dispose(): void;
}

export async function openEngine(o: DemoEngineOptions): Promise<DemoEngine> {
  const engine: EngineLike = IN_WORKER ? await createWorkerEngine(o) : await createEngine(o);
  const hasChatTemplate = engine.hasChatTemplate;
  /** Story mode: the engine's context is the story shown so far (follow-ups extend it). */
  let holdsStory = false;
  /** The last reply ended at the model's EOS: the cache holds an ended story. */
  let storyEnded = false;

  return {
    config: engine.config,
    hasChatTemplate,
    samplingDefaults: engine.samplingDefaults,
    where: IN_WORKER ? 'worker' : 'page',
    reply(messages, { maxTokens, temperature, topP, signal }): Turn {
      const text = messages[messages.length - 1]?.content ?? '';
      if (hasChatTemplate) {
        // Chat models: OpenAI-style chat; the engine reuses its compressed cache for the history.
        const started = engine.chat.completions.create({ messages: [...messages], stream: true, max_tokens: maxTokens, temperature, top_p: topP }, { signal });
        return {
          deltas: (async function* () {
            for await (const c of await started) {
              const d = c.choices[0]?.delta.content;
              if (d) yield d;
            }
          })(),
          result: started
            .then((s) => s.result)
            .then((c) => ({
              text: c.choices[0].message.content,
              finishReason: c.choices[0].finish_reason,
              stats: c.usage.extra,
              cachedTokens: c.usage.prompt_tokens_details.cached_tokens,
              story: null,
            })),
        };
      }
      // Story models have no chat template: joining the messages would recompute the whole story
      // every turn, so a follow-up is appended to the compressed cache instead. After the model
      // ended the story (its end marker and EOS are in the cache) it only ends it again, so the
      // story shown is read again into a fresh cache.
      const follow = holdsStory && messages.length > 1;
      const story = !follow ? 'new' : storyEnded ? 'reread' : 'continued';
      const prompt = story === 'continued' ? `\n${text}` : story === 'reread' ? storyText(messages) : text;
      const g = engine.generate(prompt, { continue: story === 'continued', maxTokens, temperature, topP, signal });
      holdsStory = false;
      const result: Promise<TurnResult> = g.result.then(
        (r) => {
          holdsStory = true;
          storyEnded = r.finishReason === 'stop';
          return { text: r.text, finishReason: r.finishReason, stats: r.stats, cachedTokens: 0, story };
        },
        (e: unknown) => {
          // A stopped story is still the story on screen; after any other failure, start over.
          holdsStory = signal.aborted;
          storyEnded = false;
          throw e;
        },
      );
      result.catch(() => {});
      return {
        deltas: (async function* () {
          for await (const c of g) if (c.text) yield c.text;
        })(),
        result,
      };
    },
    kvStats: () => engine.kvStats(),
    kvMap: () => engine.kvMap(),
    async reset() {
      holdsStory = false;
      storyEnded = false;
      await engine.reset();
    },
    async warmUp() {
      const t0 = performance.now();
      await engine.generate([0, 0], { maxTokens: 2, stopAtEos: false, temperature: 0 }).result;
      await engine.reset();
      return (performance.now() - t0) / 1000;
    },
    dispose: () => engine.dispose(),
  };
}

/** A story conversation as one text: the opening, each continuation, each follow-up on its own line. */
function storyText(messages: readonly ChatMessage[]): string {
  return messages.map((m, i) => (m.role === 'user' && i > 0 ? '\n' : '') + stripEndMarkers(m.content)).join('');
}
