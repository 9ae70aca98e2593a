/**
 * Where the model comes from: the local models folder (served by the dev server at /models/), a
 * Hugging Face repo id, or files / a folder picked on this computer.
 */
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
}

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

export class ModelPicker {
  private source: Source = 'local';
  private files: File[] = [];
  private local: LocalModel[] = [];
  private readonly tabs: HTMLButtonElement[];

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: () => void,
  ) {
    this.tabs = [...root.querySelectorAll<HTMLButtonElement>('[role=tab]')];
    for (const t of this.tabs) t.addEventListener('click', () => this.select(t.dataset.source as Source));
    for (const id of ['files', 'folder'] as const) {
      const input = this.el<HTMLInputElement>(id);
      input.addEventListener('change', () => {
        this.files = [...(input.files ?? [])];
        // The other picker's choice no longer applies.
        this.el<HTMLInputElement>(id === 'files' ? 'folder' : 'files').value = '';
        this.summarizeFiles();
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
    const folder = this.files[0].webkitRelativePath.split('/')[0];
    return { spec: this.files, label: folder || this.files.find((f) => /\.(gguf|bin|safetensors)$/i.test(f.name))?.name || 'local files' };
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
      this.el(t.getAttribute('aria-controls')!).hidden = !on;
    }
    this.onChange();
  }

  private summarizeFiles(): void {
    const bytes = this.files.reduce((s, f) => s + f.size, 0);
    const names = this.files.map((f) => f.name);
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
    this.el('files-summary').textContent = this.files.length
      ? `${this.files.length} file${this.files.length > 1 ? 's' : ''}, ${formatBytes(bytes)}: ${shown}`
      : 'No files chosen.';
  }

  private el<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.querySelector<T>(`#${id}`)!;
  }
}
