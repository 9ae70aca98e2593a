/**
 * Command-line front end (Node):
 *   generate --model PATH [--backend cpu|webgpu] [--prompt TEXT | --prompt-ids 1,2,3] [--max-tokens N]
 *            [--greedy] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S]
 *            [--stop-at-eos] [--policy NAME --budget N|R%] [--prefill-chunk N|whole] [--kv-dtype f16|f32] [--json]
 *   score    --model PATH --ids-file FILE [--backend cpu|webgpu] [--policy NAME --budget N|R%]
 *            [--prefill-chunk N|whole] [--kv-dtype f16|f32] [--prompt-tokens N] [--json]
 * PATH is a model folder, a .gguf file or a llama2.c .bin (tokenizer beside it or --tokenizer), or a
 * Hugging Face repo id (--revision; HF_TOKEN for gated repos, HF_ENDPOINT for a mirror).
 * --budget N is N tokens per layer on average, R% a fraction of the prompt; score's prompt is its
 * first --prompt-tokens ids (default 1), every later id a decode step the policy compresses after.
 * --prefill-chunk: ids per prefill chunk, each compressed after under a policy (default 512; `whole`:
 * the paper's one-shot prefill); --kv-dtype: how K and V are stored.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadModel } from '../model/load';
import { createTokenizer } from '../tokenizer';
import { createBackend } from '../engine/create-backend';
import { Conversation } from '../engine/conversation';
import { generationDefaults } from '../engine/generation-defaults';
import type { BackendName } from '../backend/backend';
import { POLICIES, resolvePolicy, type PolicyName, type ResolvedPolicy } from '../kv/policy';
import { runFilteringDawnNoise } from './dawn-noise';
import { D2OError } from '../errors';
import { checkPolicyForModel, checkPrompt, checkSampling, type SamplingNames } from '../engine/arguments';
import { checkNumber } from '../util/range-checks';
import { resolvePrefillChunk } from '../kv/chunks';
import { parseKvDtype, type KvDtype } from '../kv/dtype';

class UsageError extends Error {}

const options = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  revision: { type: 'string' },
  backend: { type: 'string', default: 'cpu' },
  prompt: { type: 'string' },
  'prompt-ids': { type: 'string' },
  'ids-file': { type: 'string' },
  'max-tokens': { type: 'string', default: '128' },
  greedy: { type: 'boolean', default: false },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  'stop-at-eos': { type: 'boolean', default: false },
  policy: { type: 'string', default: 'full' },
  budget: { type: 'string' },
  'prompt-tokens': { type: 'string', default: '1' },
  'prefill-chunk': { type: 'string' },
  'kv-dtype': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function parseIds(text: string): number[] {
  const ids = text.split(/[\s,]+/).filter(Boolean).map(Number);
  if (ids.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError(`not a list of token ids: ${text.slice(0, 80)}`);
  return ids;
}

/** The API's argument checks (src/engine/arguments.ts), named by the CLI's flags, as usage errors. */
const FLAGS: SamplingNames = { temperature: '--temperature', topK: '--top-k', topP: '--top-p', repetitionPenalty: '--repetition-penalty', repetitionWindow: '--repetition-window', seed: '--seed', greedy: '--greedy' };
function usage(check: () => void): void {
  try {
    check();
  } catch (e) {
    throw e instanceof RangeError ? new UsageError(e.message) : e;
  }
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UsageError(`--${flag} needs a number, got ${v}`);
  return x;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'generate' && command !== 'score') throw new UsageError('usage: cli generate|score --model PATH ...');
  const { values: a } = parseArgs({ args: rest, options, strict: true });
  if (!a.model) throw new UsageError('--model PATH is required');
  if (a.backend !== 'cpu' && a.backend !== 'webgpu') throw new UsageError(`--backend must be cpu or webgpu, got ${a.backend}`);
  if (a.backend === 'webgpu') {
    const filtered = runFilteringDawnNoise();
    if (filtered) {
      process.exitCode = await filtered;
      return;
    }
  }

  const policy = kvPolicy(a.policy, a.budget);
  const cache = cacheOptions(a['prefill-chunk'], a['kv-dtype']);
  // Repo ids as huggingface_hub reads them: a gated repo's token from HF_TOKEN, a mirror from HF_ENDPOINT.
  const model = await loadModel(a.model, { tokenizerPath: a.tokenizer, revision: a.revision, hfToken: process.env.HF_TOKEN, hfEndpoint: process.env.HF_ENDPOINT });

  if (command === 'score') {
    if (!a['ids-file']) throw new UsageError('score needs --ids-file FILE');
    const ids = parseIds(await readFile(a['ids-file'], 'utf8'));
    if (ids.length < 2) throw new UsageError('score needs at least two ids');
    usage(() => {
      checkPrompt(ids, model.config.vocabSize);
      checkPolicyForModel(policy, model.config);
    });
    const promptTokens = num(a['prompt-tokens'], 'prompt-tokens')!;
    if (!Number.isInteger(promptTokens) || promptTokens < 1 || promptTokens >= ids.length) throw new UsageError(`--prompt-tokens must be an integer from 1 to ${ids.length - 1}`);
    const backend = await createBackend(model, a.backend as BackendName, { policy, ...cache });
    try {
      const nll = Array.from(await backend.nll(ids, undefined, promptTokens));
      const meanNll = nll.reduce((s, x) => s + x, 0) / nll.length;
      const stats = await backend.kvStats();
      process.stdout.write(a.json ? JSON.stringify({ nll, meanNll, tokens: ids.length, kv: stats }) + '\n' : `mean NLL ${meanNll.toFixed(6)} over ${nll.length} tokens\n`);
    } finally {
      backend.dispose();
    }
    return;
  }

  const tokenizer = a.prompt !== undefined || model.tokenizer.kind !== 'none' ? createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize) : null;
  let promptIds: number[];
  if (a['prompt-ids'] !== undefined) promptIds = parseIds(a['prompt-ids']);
  else if (tokenizer) promptIds = tokenizer.encode(a.prompt ?? '', { addBos: true });
  else throw new UsageError('this model has no tokenizer (none beside it, none in its GGUF metadata): put its tokenizer.json beside it, or pass --prompt-ids');
  if (promptIds.length === 0) throw new UsageError('the prompt is empty');

  const maxTokens = num(a['max-tokens'], 'max-tokens')!;
  // Flags left out take the model's generation_config.json defaults (as the engine does).
  const sampling = {
    greedy: a.greedy || undefined,
    temperature: num(a.temperature, 'temperature'),
    topK: num(a['top-k'], 'top-k'),
    topP: num(a['top-p'], 'top-p'),
    repetitionPenalty: num(a['repetition-penalty'], 'repetition-penalty'),
    seed: num(a.seed, 'seed'),
  };
  usage(() => {
    checkPrompt(promptIds, model.config.vocabSize);
    checkSampling(sampling, FLAGS);
    checkNumber(maxTokens, '--max-tokens', { min: 1, max: 2 ** 31 - 1, integer: true });
    checkPolicyForModel(policy, model.config);
  });
  const backend = await createBackend(model, a.backend as BackendName, { policy, ...cache });
  try {
    const conversation = new Conversation(backend, tokenizer, model.config.eosTokenIds, generationDefaults(model.generationConfig));
    const t0 = performance.now();
    // The text streams as it is decoded (a stop token is in the ids but not printed).
    const print = !a.json && tokenizer;
    const r = await conversation.turn(promptIds, { ...sampling, maxTokens, stopAtEos: a['stop-at-eos'] }, (c) => print && process.stdout.write(c.text));
    const seconds = (performance.now() - t0) / 1000;
    const generated = r.ids;
    const ids = [...promptIds, ...generated];
    if (a.json) {
      // The continuation only, as golden.json's `text`.
      const text = tokenizer ? tokenizer.decode(generated, promptIds[promptIds.length - 1]) : '';
      process.stdout.write(JSON.stringify({ ids, promptIds, generatedIds: generated, text, backend: backend.name, seconds, sampling: r.sampling, kv: r.stats.kv }) + '\n');
    } else {
      process.stdout.write((print ? '' : generated.join(' ')) + '\n');
    }
  } finally {
    backend.dispose();
  }
}

function kvPolicy(policy: string | undefined, budget: string | undefined): ResolvedPolicy {
  if (!POLICIES.includes(policy as PolicyName)) throw new UsageError(`--policy must be one of ${POLICIES.join(', ')}, got ${policy}`);
  try {
    return resolvePolicy({ policy: policy as PolicyName, budget });
  } catch (e) {
    throw e instanceof RangeError ? new UsageError(`--budget: ${e.message}`) : e;
  }
}

function cacheOptions(chunk: string | undefined, dtype: string | undefined): { prefillChunk?: number; kvDtype?: KvDtype } {
  try {
    return {
      prefillChunk: chunk === undefined ? undefined : resolvePrefillChunk(chunk === 'whole' ? Infinity : Number(chunk)),
      kvDtype: dtype === undefined ? undefined : parseKvDtype(dtype),
    };
  } catch (e) {
    throw e instanceof RangeError ? new UsageError(`--${chunk !== undefined && e.message.includes('prefillChunk') ? 'prefill-chunk' : 'kv-dtype'}: ${e.message}`) : e;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const known = e instanceof D2OError || e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'));
  process.stderr.write(`error: ${e instanceof Error ? (known ? e.message : (e.stack ?? e.message)) : String(e)}\n`);
  process.exitCode = known && e instanceof UsageError ? 2 : 1;
});
