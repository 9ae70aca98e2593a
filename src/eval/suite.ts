/**
 * The evaluation both `npm run eval` (bench/eval.ts, Node) and the browser page (bench/eval-page/)
 * run: the two shared models, the text, the budgets, every policy. The callers only load models
 * and write results.
 */
import { cpuWeights } from '../cpu/weights';
import { POLICIES, parseBudget } from '../kv/policy';
import type { ModelDescription } from '../model/types';
import { createTokenizer } from '../tokenizer';
import { evalGrid, evaluate, type ModelEval } from './evaluate';
import type { BackendFactory } from './perplexity';
import { storyIds } from './story-ids';

export interface SuiteModel {
  name: string;
  /** Folder under the models directory, and the checkpoint and tokenizer files in it when not a Hugging Face folder. */
  dir: string;
  file?: string;
  tokenizer?: string;
  /** The model closes its stories with EOS (TinyStories-656K's <|end_story|>); llama2.c's only start the next with BOS. */
  endsStories: boolean;
}

export const SUITE_MODELS: SuiteModel[] = [
  { name: 'stories260K', dir: 'stories260K', file: 'stories260K.bin', tokenizer: 'tok512.bin', endsStories: false },
  { name: 'TinyStories-656K', dir: 'tinystories-656k', endsStories: true },
];

/**
 * Two lengths: 2,048 tokens, four times the models' 512-token training context, after a 512-token
 * prompt (a ratio budget then is a share of something sizeable: 10 % = 51 tokens per layer); and
 * 512 tokens after a 128-token prompt, inside the training context, where the full cache is the
 * best the model can do. Quick: the smoke test's.
 */
export function suiteSettings(quick: boolean) {
  return {
    lengths: quick ? [{ tokens: 64, promptTokens: 32 }] : [{ tokens: 2048, promptTokens: 512 }, { tokens: 512, promptTokens: 128 }],
    budgets: (quick ? ['50%', '16'] : ['10%', '20%', '40%', '80%', '32', '64', '128']).map(parseBudget),
    windowTokens: quick ? 16 : 128,
  };
}

export interface SuiteOptions {
  quick: boolean;
  stories: string[];
  load: (m: SuiteModel) => Promise<ModelDescription>;
  /** Perplexity through the backends this makes (else from the reference pass); agreement always on the CPU reference. */
  backends?: (model: ModelDescription) => BackendFactory;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export async function runSuite(o: SuiteOptions): Promise<{ models: ModelEval[]; text: string }> {
  const s = suiteSettings(o.quick);
  const longest = Math.max(...s.lengths.map((l) => l.tokens));
  const models: ModelEval[] = [];
  for (const m of SUITE_MODELS) {
    const model = await o.load(m);
    const tokenizer = createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize);
    const text = storyIds(tokenizer, o.stories, longest, m.endsStories ? model.config.eosTokenIds[0] : null);
    for (const { tokens, promptTokens } of s.lengths)
      models.push(
        await evaluate({
          model: m.name,
          weights: cpuWeights(model),
          makeBackend: o.backends?.(model),
          ids: text.slice(0, tokens),
          promptTokens,
          configs: evalGrid(POLICIES, s.budgets),
          windowTokens: s.windowTokens,
          log: o.log,
          signal: o.signal,
        }),
      );
  }
  const text =
    `The text: the hand-written children's stories of bench/eval-texts/stories.txt (its README says how they were made), each as BOS + story ` +
    `(+ <|end_story|> for TinyStories-656K, as that model ends its own stories), concatenated with each model's own tokenizer and cut to ` +
    `${s.lengths.map((l) => `${l.tokens} tokens (the first ${l.promptTokens} the prompt)`).join(' or ')}. ` +
    'Every policy prefills the prompt, then feeds each later token as its own decode step and compresses after it, exactly as in generation; ' +
    'scored are the next-token predictions of those decode steps. Budgets are fixed after the prompt, as in the paper: ' +
    'a ratio budget R is R × the prompt length per layer, so it is a smaller share of the context at the end of the text.';
  return { models, text };
}
