/**
 * Turns the runtime's typed errors into messages a user can act on: what went wrong, what to do,
 * and the library's own message underneath for the curious (or a bug report).
 */
import { AbortError, ContextOverflowError, DeviceLostError, LoadError, ModelFormatError, NoWebGPUError, SINKS, UnsupportedModelError, type PolicyName } from '../src/index';

/** What the page is set to, so advice names what this user can change here. */
export interface Setting {
  /** The policy the loaded model runs. */
  policy: PolicyName;
  /** Its name as the page shows it (e.g. "D2O, 32 tokens per layer"). */
  summary: string;
}

export interface Explanation {
  title: string;
  hint: string;
  detail: string;
  /** The engine can no longer be used (the GPU device is gone): the model must be loaded again. */
  fatal: boolean;
}

const FORMAT_HINTS: Partial<Record<ModelFormatError['problem'], string>> = {
  truncated: 'A file ends early: the download was cut short or the copy is incomplete. Download it again.',
  'missing-file': 'A Hugging Face folder needs config.json, tokenizer.json and the .safetensors weights; a .gguf file needs the tokenizer.json of its model; a llama2.c .bin needs its tokenizer .bin.',
  'bad-config': 'config.json is not a model configuration this runtime can read.',
  'unknown-dtype': 'The weights use a number format this runtime does not read (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).',
  'non-finite': 'A weight is NaN or infinite, so every output would be NaN: the file is damaged (or was exported wrongly). Download it again.',
  'size-mismatch': 'The file and its header (or config.json) disagree on sizes: a damaged or mismatched file. Download it again, or check you picked the files of one model.',
};

export function explainError(e: unknown, during: 'load' | 'generate', setting?: Setting): Explanation {
  const detail = e instanceof Error ? e.message : String(e);
  const x = (title: string, hint: string, fatal = false): Explanation => ({ title, hint, detail, fatal });
  if (e instanceof NoWebGPUError)
    return x(
      'WebGPU is not available',
      'Use a recent Chrome, Edge or Safari on a machine with a GPU (the page must be served over https or from localhost), or choose the "CPU reference" backend, which works everywhere but is slow.',
    );
  if (e instanceof ModelFormatError && e.problem === 'missing-file') return x('A file the model needs is missing', FORMAT_HINTS['missing-file']!);
  if (e instanceof ModelFormatError)
    return x('The model files are damaged or incomplete', FORMAT_HINTS[e.problem] ?? 'The files do not form a valid checkpoint. Check that you picked the right files, or download them again.');
  if (e instanceof UnsupportedModelError)
    return x('This model is not supported', 'The files are valid but describe something this runtime does not run yet. Llama, Mistral and Qwen2 style models in safetensors, GGUF (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) or llama2.c format work.');
  if (e instanceof LoadError)
    return x('The model could not be downloaded', 'Check the repository id and your connection. Gated repositories (e.g. Meta Llama) need you to accept their licence on huggingface.co and cannot be fetched anonymously.');
  if (e instanceof ContextOverflowError) {
    const tokens = `It needs ${e.tokens.toLocaleString('en-US')} tokens`;
    if (!setting || setting.policy === 'full')
      return x(
        'This does not fit the full cache',
        `${tokens} and the full cache holds ${e.limit.toLocaleString('en-US')}. Your text is still in the message box: shorten it, or choose a compressing policy such as D2O under “KV cache” and load again (it keeps memory bounded however long the text).`,
      );
    return x(
      'This is too long to read at once',
      `${tokens} and this ${setting.summary} cache reads at most ${e.limit.toLocaleString('en-US')} in one go. Your text is still in the message box: send it in shorter parts (each part is compressed before the next), or start a new chat.`,
    );
  }
  if (e instanceof DeviceLostError)
    return x('The GPU stopped responding', 'The browser reset the GPU (memory pressure, a driver update or a sleeping laptop). Load the model again to continue.', true);
  if (e instanceof AbortError) return x('Stopped', '');
  if (/no tokenizer|needs a model with a tokenizer/i.test(detail))
    return x('This model has no tokenizer', 'Put its tokenizer beside the weights: tokenizer.json for a Hugging Face folder or a GGUF file whose metadata carries none, the tokenizer .bin (e.g. tok512.bin) for a llama2.c checkpoint.');
  const context = /^kv\.budget must be at most the model's context of (\d+) tokens/.exec(detail);
  if (e instanceof RangeError && context)
    return x(
      'The budget is larger than this model’s whole context',
      `This model reads at most ${context[1]} tokens, so a larger budget could never evict anything. Choose fewer tokens per layer under “KV cache”, or the full cache.`,
    );
  if (e instanceof RangeError) return x('That setting is out of range', `Check the KV budget (tokens per layer must be above ${SINKS}; a percentage between 1 and 100) and the sampling fields.`);
  return x(during === 'load' ? 'The model could not be loaded' : 'Generation failed', 'This looks like a bug. Reload the page and try again; if it persists, please report the message below.');
}

/** The explanation as a small block (title, hint, original message). */
export function renderNotice(x: Explanation): HTMLElement {
  const box = document.createElement('div');
  box.className = 'notice';
  box.setAttribute('role', 'alert');
  const title = document.createElement('strong');
  title.textContent = x.title;
  box.append(title);
  if (x.hint) {
    const p = document.createElement('p');
    p.textContent = x.hint;
    box.append(p);
  }
  if (x.detail && x.detail !== x.title) {
    // The library's own words, for a bug report: folded, since they name API options, not controls of this page.
    const more = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Technical detail';
    const d = document.createElement('p');
    d.className = 'detail';
    d.textContent = x.detail;
    more.append(summary, d);
    box.append(more);
  }
  return box;
}
