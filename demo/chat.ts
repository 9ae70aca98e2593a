/**
 * The conversation view: message bubbles, the streaming reply, and the empty states that tell a
 * new user what to do next. It only renders; main.ts owns the message history and the engine.
 */

export interface Reply {
  readonly element: HTMLElement;
  /** Adds streamed text. */
  append(text: string): void;
  text(): string;
  /** Ends the stream with a line of facts under the text. */
  finish(meta: string, outcome: 'done' | 'stopped'): void;
  fail(notice: HTMLElement): void;
}

/**
 * End markers some story models spell out in ordinary pieces just before their real EOS id. They
 * are hidden, not used as stop strings: the reply must stay exactly what the engine holds, so the
 * next turn extends the compressed cache instead of recomputing the conversation.
 */
const END_MARKERS = /<\|end_?(?:story|of_?text)\|>|<\/s>/g;

const STORY_STARTS = ['Once upon a time', 'Lily wanted to fly a kite', 'Tom found a little red box'];
const CHAT_STARTS = ['Tell me a short story about a robot.', 'Explain a KV cache in two sentences.', 'Write a haiku about the sea.'];

export class ChatView {
  constructor(
    private readonly list: HTMLElement,
    private readonly onSuggestion: (text: string) => void,
  ) {}

  clear(): void {
    this.list.replaceChildren();
  }

  /** What an empty conversation shows: how to start, and for story models what to expect. */
  showEmpty(state: { kind: 'no-model' } | { kind: 'loading'; label: string } | { kind: 'ready'; label: string; storyModel: boolean }): void {
    const box = el('div', 'empty');
    if (state.kind === 'no-model') {
      box.append(
        el('h3', '', 'Load a model to start'),
        el('p', '', 'Pick TinyStories-656K from the local models, a Llama-style repository from Hugging Face, or files on this computer.'),
        el('p', '', 'Everything runs in this browser: nothing you type is sent anywhere.'),
      );
    } else if (state.kind === 'loading') {
      box.append(el('h3', '', `Loading ${state.label}…`), el('p', '', 'The weights go to the GPU once; later chats start at once.'));
    } else {
      const starts = state.storyModel ? STORY_STARTS : CHAT_STARTS;
      box.append(
        el('h3', '', state.storyModel ? `${state.label} writes stories` : `${state.label} is ready`),
        el(
          'p',
          '',
          state.storyModel
            ? 'It has no chat template: your message opens a story and the model carries on. Follow-up messages continue the same story.'
            : 'Ask anything. Watch the KV cache on the right as the reply streams.',
        ),
      );
      const chips = el('div', 'suggestions');
      for (const s of starts) {
        const b = el('button', '', s) as HTMLButtonElement;
        b.type = 'button';
        b.addEventListener('click', () => this.onSuggestion(s));
        chips.append(b);
      }
      box.append(chips);
    }
    this.list.replaceChildren(box);
  }

  addUser(text: string): void {
    this.list.querySelector('.empty')?.remove();
    this.list.append(el('div', 'msg user', text));
    this.scroll(true);
  }

  /** A reply bubble; `echo` (a story model's prompt) is shown faded in front so the story reads whole. */
  addReply(echo?: string): Reply {
    const bubble = el('div', `msg assistant streaming${echo ? ' story' : ''}`);
    bubble.setAttribute('aria-busy', 'true');
    if (echo) bubble.append(el('span', 'echo', echo));
    const text = el('span', 'text');
    bubble.append(text);
    this.list.append(bubble);
    this.scroll(true);
    let raw = '';
    const done = () => {
      bubble.classList.remove('streaming');
      bubble.removeAttribute('aria-busy');
    };
    return {
      element: bubble,
      append: (t) => {
        raw += t;
        const follow = this.nearBottom();
        // A story's continuation is shown as is after its opening; a chat reply without leading blanks.
        const shown = raw.replace(END_MARKERS, '');
        text.textContent = echo ? shown : shown.trimStart();
        this.scroll(follow);
      },
      text: () => raw,
      finish: (meta, outcome) => {
        done();
        bubble.dataset.outcome = outcome;
        bubble.append(el('span', 'meta', meta));
        this.scroll(this.nearBottom());
      },
      fail: (notice) => {
        done();
        bubble.dataset.outcome = 'error';
        bubble.classList.add('failed');
        bubble.append(notice);
        this.scroll(true);
      },
    };
  }

  private nearBottom(): boolean {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  /** Follows the stream unless the user scrolled up to read. */
  private scroll(follow: boolean): void {
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }
}

function el(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
