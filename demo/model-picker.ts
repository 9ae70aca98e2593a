/**
 * Where the model comes from: the local models folder (served by the dev server at /models/), a
 * Hugging Face repo id, or files / a folder picked on this computer.
 */
import { parseGgufHeader } from '../src/model/gguf';
import { ModelFormatError } from '../src/errors';
import { formatBytes } from './format';

type Source = 'local' | 'hf' | 'files';

/** One entry of /models/index.json (see vite.config.ts). */
interface LocalModel {
  name: string;
  /** Under /models/: a Hugging Face folder, or a single .gguf / llama2.c .bin file. */
  path: string;
  format: string;
  bytes: number;
  /** llama2.c: the tokenizer file beside it. */
  tokenizer?: string;
}

export interface ModelChoice {
  /** A URL, a Hugging Face repo id, or the picked files (what the worker engine accepts). */
  spec: string | File[];
  /** llama2.c over HTTP: the tokenizer's file name in the model's folder. */
  tokenizerPath?: string;
  /** Short name for the UI. */
  label: string;
  /** Files picked that will not be used (several weight files), said before and after loading. */
  note?: string;
}

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

export class ModelPicker {
  private source: Source = 'local';
  private files: File[] = [];
  /** What each picked .gguf's metadata says of its tokenizer, once read (see `ggufTokenizerModel`). */
  private ggufTokenizers = new Map<File, string | null>();
  private local: LocalModel[] = [];
  private readonly tabs: HTMLButtonElement[];

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: () => void,
  ) {
    this.tabs = [...root.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    for (const t of this.tabs) {
      t.addEventListener('click', () => this.select(t.dataset.source as Source));
      // Tabs are one stop for Tab; the arrow keys (and Home/End) move between them and select.
      t.addEventListener('keydown', (ev) => {
        const i = this.tabs.indexOf(t);
        const n = this.tabs.length;
        const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i + n - 1) % n, Home: 0, End: n - 1 }[ev.key];
        if (to === undefined) return;
        ev.preventDefault();
        this.select(this.tabs[to].dataset.source as Source);
        this.tabs[to].focus();
      });
    }
    for (const id of ['files', 'folder'] as const) {
      const input = this.el<HTMLInputElement>(id);
      input.addEventListener('change', () => {
        this.files = [...(input.files ?? [])];
        // The other picker's choice no longer applies.
        this.el<HTMLInputElement>(id === 'files' ? 'folder' : 'files').value = '';
        this.summarizeFiles();
        void this.readGgufTokenizers();
        this.onChange();
      });
    }
    this.el('hf-repo').addEventListener('input', () => this.onChange());
    this.el('local-model').addEventListener('change', () => this.onChange());
  }

  /** Reads /models/index.json; without a models folder the Hugging Face tab opens instead. */
  async init(): Promise<void> {
    const select = this.el<HTMLSelectElement>('local-model');
    try {
      const r = await fetch('/models/index.json');
      const list: unknown = r.ok && (r.headers.get('content-type') ?? '').includes('json') ? await r.json() : [];
      this.local = Array.isArray(list) ? list.filter((m): m is LocalModel => typeof m?.path === 'string') : [];
    } catch {
      this.local = [];
    }
    select.replaceChildren(
      ...this.local.map((m) => {
        const o = new Option(`${m.name} · ${formatBytes(m.bytes)}`, m.path);
        o.title = `${m.path} (${m.format})`;
        return o;
      }),
    );
    select.disabled = this.local.length === 0;
    if (this.local.length) {
      // A Hugging Face folder first: it has the richest tokenizer.
      select.value = (this.local.find((m) => m.format === 'safetensors') ?? this.local[0]).path;
      this.el('local-hint').textContent = 'Served by the demo server from the models folder (../shared/models, or D2O_MODELS_DIR).';
    } else {
      select.append(new Option('No local models found', ''));
      this.el('local-hint').textContent = 'No models folder is configured for this server: load from Hugging Face or pick files instead.';
      this.select('hf');
    }
    this.onChange();
  }

  /** The model to load, or why there is none yet. */
  choice(): ModelChoice | { missing: string } {
    if (this.source === 'local') {
      const path = this.el<HTMLSelectElement>('local-model').value;
      if (!path) return { missing: 'No local model to load.' };
      const m = this.local.find((x) => x.path === path);
      return { spec: `${location.origin}/models/${path}`, label: m?.name ?? path, tokenizerPath: m?.tokenizer };
    }
    if (this.source === 'hf') {
      const repo = this.el<HTMLInputElement>('hf-repo').value.trim();
      if (!repo) return { missing: 'Type a repository id such as raincandy-u/TinyStories-656K.' };
      if (!REPO_ID.test(repo)) return { missing: `"${repo}" is not a repository id: it looks like owner/name.` };
      return { spec: repo, label: repo };
    }
    if (!this.files.length) return { missing: 'Choose the model files or their folder.' };
    return checkFiles(this.files, (f) => this.ggufTokenizers.get(f));
  }

  /** Locks the inputs while a model loads. */
  setDisabled(disabled: boolean): void {
    for (const el of this.root.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>('input, select, [role=tab]'))
      el.disabled = disabled || (el.id === 'local-model' && this.local.length === 0);
  }

  private select(source: Source): void {
    this.source = source;
    for (const t of this.tabs) {
      const on = t.dataset.source === source;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      this.el(t.getAttribute('aria-controls')!).hidden = !on;
    }
    this.onChange();
  }

  /** What was picked, and at once what is missing or which file will load. */
  private summarizeFiles(): void {
    const bytes = this.files.reduce((s, f) => s + f.size, 0);
    const names = this.files.map((f) => f.name);
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
    const box = this.el('files-summary');
    const check = this.el('files-check');
    box.textContent = this.files.length ? `${this.files.length} file${this.files.length > 1 ? 's' : ''}, ${formatBytes(bytes)}: ${shown}` : 'No files chosen.';
    const c = this.files.length ? checkFiles(this.files, (f) => this.ggufTokenizers.get(f)) : null;
    check.hidden = c === null;
    check.className = `file-check ${c && 'missing' in c ? 'bad' : 'good'}`;
    check.textContent = !c ? '' : 'missing' in c ? c.missing : `Ready to load ${c.label}.${c.note ? ` ${c.note}` : ''}`;
  }

  /** Reads the header of each picked .gguf (a few MB at most) to know whether it carries its tokenizer. */
  private async readGgufTokenizers(): Promise<void> {
    const files = this.files;
    for (const f of files.filter((x) => /\.gguf$/i.test(x.name) && !this.ggufTokenizers.has(x))) {
      const model = await ggufTokenizerModel(f);
      this.ggufTokenizers.set(f, model);
      if (this.files !== files) return;
      this.summarizeFiles();
      this.onChange();
    }
  }

  private el<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.querySelector<T>(`#${id}`)!;
  }
}

/**
 * A .gguf's `tokenizer.ggml.model` ("llama", "gpt2", ...), null when its metadata has no tokenizer,
 * or "unreadable" when the header does not parse (loading then says why). Reads growing prefixes
 * until the header fits: metadata with a 150k-token vocabulary takes a few MB.
 */
export async function ggufTokenizerModel(file: Blob): Promise<string | null> {
  for (let size = 1 << 20; ; size *= 4) {
    try {
      const md = parseGgufHeader(new Uint8Array(await file.slice(0, size).arrayBuffer())).metadata;
      const model = md.get('tokenizer.ggml.model');
      return model === undefined || model === 'none' ? null : String(model);
    } catch (e) {
      if (!(e instanceof ModelFormatError && e.problem === 'truncated' && size < file.size)) return 'unreadable';
    }
  }
}

/**
 * Which checkpoint a set of picked files makes, checked before loading: a Hugging Face folder
 * (safetensors, all shards), else a .gguf, else a llama2.c .bin, each with what it needs beside it.
 * Only the files that load are passed on, and the others are named. `ggufTokenizer`: what a .gguf's
 * metadata says of its tokenizer (`ggufTokenizerModel`), undefined while it is being read.
 */
export function checkFiles(files: File[], ggufTokenizer: (f: File) => string | null | undefined = () => undefined): ModelChoice | { missing: string } {
  const by = (re: RegExp) => files.filter((f) => re.test(f.name)).sort((a, b) => a.name.localeCompare(b.name));
  const named = (n: string) => files.find((f) => f.name.toLowerCase() === n);
  const list = (fs: File[]) => fs.map((f) => f.name).join(', ');
  const safetensors = by(/\.safetensors$/i);
  const gguf = by(/\.gguf$/i);
  const tokBins = by(/^tok.*\.bin$/i);
  const bins = by(/\.bin$/i).filter((f) => !tokBins.includes(f));
  const folder = (files[0].webkitRelativePath ?? '').split('/')[0];
  const unused = (fs: File[]) => (fs.length ? `Not used: ${list(fs)}.` : undefined);
  // Files that describe the tokenizer and sampling travel with any format.
  const companions = files.filter((f) => /^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|generation_config\.json)$/i.test(f.name));

  if (safetensors.length) {
    const lack = ['config.json', 'tokenizer.json'].filter((n) => !named(n));
    if (lack.length) return { missing: `${list(safetensors)} needs ${lack.join(' and ')} from the same Hugging Face folder: add ${lack.length > 1 ? 'them' : 'it'}.` };
    return { spec: [named('config.json')!, ...companions, ...safetensors], label: folder || safetensors[0].name, note: unused([...gguf, ...bins]) };
  }
  if (gguf.length) {
    const [main, ...rest] = gguf;
    // A tokenizer.json beside the file wins over the one in its metadata.
    if (!named('tokenizer.json')) {
      const inside = ggufTokenizer(main);
      if (inside === undefined) return { missing: `Reading ${main.name}’s metadata for its tokenizer…` };
      if (inside === null) return { missing: `${main.name} carries no tokenizer in its metadata: add its tokenizer.json (from the model’s Hugging Face repository).` };
    }
    return { spec: [main, ...companions], label: main.name, note: unused([...rest, ...bins]) && `${gguf.length + bins.length} model files chosen: loading ${main.name}. ${unused([...rest, ...bins])}` };
  }
  if (bins.length) {
    const [main, ...rest] = bins;
    if (!tokBins.length) return { missing: `${main.name} is a llama2.c checkpoint: add its tokenizer .bin (tokenizer.bin, or tok512.bin for stories260K).` };
    return { spec: [main, tokBins[0]], label: main.name, note: unused(rest) && `${bins.length} model files chosen: loading ${main.name}. ${unused(rest)}` };
  }
  if (named('config.json')) return { missing: 'config.json is here but no weights: add the .safetensors file(s) from the same folder.' };
  return {
    missing: `None of these files is a model (${list(files.slice(0, 3))}${files.length > 3 ? ', …' : ''}). Choose a .gguf, a Hugging Face folder (config.json, tokenizer.json, *.safetensors), or a llama2.c .bin with its tokenizer .bin.`,
  };
}
