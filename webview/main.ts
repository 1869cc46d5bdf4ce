/**
 * The Relation Lens panel UI (runs in the webview). Built from @vscode-elements/elements web
 * components and the theme's CSS variables; talks to the extension only through the typed
 * protocol of src/protocol/webview.ts (requests with ids, every host message validated).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import {
  AdapterView,
  AgreementView,
  Comparison,
  EvalView,
  HostMessageSchema,
  PANEL_RESULT_SCHEMAS,
  PanelMethod,
  PanelRequest,
  PanelState,
  Results,
} from '../src/protocol/webview';

declare function acquireVsCodeApi(): {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
};
const vscode = acquireVsCodeApi();

let nextId = 1;
type Pending = { method: PanelMethod; resolve: (v: unknown) => void; reject: (e: Error) => void };
const pending = new Map<number, Pending>();

function request<M extends PanelMethod>(
  method: M,
  params: Extract<PanelRequest, { method: M }>['params'],
): Promise<Results[M]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject });
    vscode.postMessage({ type: 'request', id, method, params });
  });
}

let state: PanelState | undefined;
let selectedTab = 0;
const EVALUATE_TAB = 3;

window.addEventListener('message', (e: MessageEvent) => {
  const parsed = HostMessageSchema.safeParse(e.data);
  if (!parsed.success) return;
  const m = parsed.data;
  if (m.type === 'state') return setState(m.state);
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  if (!m.ok) return p.reject(new Error(m.error));
  const r = PANEL_RESULT_SCHEMAS[p.method].safeParse(m.result);
  if (r.success) p.resolve(r.data);
  else p.reject(new Error(`the ${p.method} answer is invalid: ${r.error.issues[0]?.message}`));
});

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K | string,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Array<Node | string | null | undefined>
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function button(
  label: string,
  onClick: () => void | Promise<void>,
  opts: { icon?: string; secondary?: boolean; id?: string } = {},
): HTMLElement {
  const b = h('vscode-button', { icon: opts.icon, secondary: opts.secondary, id: opts.id }, label);
  b.addEventListener(
    'click',
    () => void Promise.resolve(onClick()).catch((err: Error) => toast(err.message, true)),
  );
  return b;
}

function toast(text: string, error = false): void {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = text;
  t.className = error ? 'toast error' : 'toast';
}

function textValue(el: Element | null): string {
  const v: unknown = el && 'value' in el ? el.value : undefined;
  return typeof v === 'string' ? v : '';
}

const pct = (x: number) => `${(100 * x).toFixed(2)}`;

/** The template as the prompt tab's fields hold it now. */
function editedTemplate(fallbackName: string): PanelState['template'] {
  const sys = textValue(document.getElementById('tpl-system'));
  return {
    name: textValue(document.getElementById('tpl-name')) || fallbackName,
    ...(sys ? { system: sys } : {}),
    instruction: textValue(document.getElementById('tpl-instruction')),
    input: textValue(document.getElementById('tpl-input')),
    output: textValue(document.getElementById('tpl-output')) || '{{label}}',
  };
}

function promptTab(s: PanelState): HTMLElement {
  const t = s.template;
  const sections: Array<[keyof typeof t, string, number]> = [
    ['system', 'System', 2],
    ['instruction', 'Instruction (shared prefix: keep it free of per-example fields)', 8],
    ['input', 'Input (the example)', 8],
    ['output', 'Output (training answer)', 1],
  ];
  const fields = sections.map(([k, label, rows]) =>
    h(
      'div',
      { class: 'field' },
      h('vscode-label', {}, label),
      h('vscode-textarea', {
        id: `tpl-${String(k)}`,
        rows: String(rows),
        resize: 'vertical',
        value: String(t[k] ?? ''),
      }),
    ),
  );
  const preview = h(
    'pre',
    { id: 'prompt-preview', class: 'preview' },
    'The rendered prompt appears here.',
  );
  const note = h('div', { id: 'prompt-note', class: 'note' });
  const current = () => editedTemplate(t.name);
  const refresh = async () => {
    const r = await request('renderPrompt', { template: current() });
    preview.textContent = `${r.system ? `[system]\n${r.system}\n\n` : ''}[user]\n${r.user}`;
    note.textContent = r.tokensNote;
  };
  let timer: number | undefined;
  for (const f of fields)
    f.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(
        () => void refresh().catch((e: Error) => toast(e.message, true)),
        200,
      );
    });
  queueMicrotask(() => void refresh().catch((e: Error) => toast(e.message, true)));
  return h(
    'div',
    { class: 'tab' },
    h(
      'div',
      { class: 'row' },
      h('vscode-label', {}, 'Template name'),
      h('vscode-textfield', { id: 'tpl-name', value: t.name }),
      button(
        'Save as template file',
        async () => {
          const r = await request('saveTemplate', { template: current() });
          toast(r ? `saved ${r.file}` : 'not saved: the file was kept');
        },
        { icon: 'save' },
      ),
    ),
    h(
      'div',
      { class: 'note' },
      `Built-in: ${s.templates.join(', ')}. Placeholders: {{sentence}} {{head}} {{tail}} {{head_type}} {{tail_type}} {{relation_names}} {{#relations}}{{name}}{{/relations}} {{#examples}}…{{/examples}}`,
    ),
    h(
      'div',
      { class: 'split' },
      h('div', {}, ...fields),
      h('div', {}, h('h3', {}, 'Preview (current record)'), note, preview),
    ),
  );
}

function relationsTab(s: PanelState): HTMLElement {
  if (!s.relationSet)
    return h(
      'div',
      { class: 'tab' },
      h(
        'p',
        {},
        'No relation set for the current file. Select one with "Relation Lens: Select Relation Set…", or put relations.json next to the file.',
      ),
    );
  const rs = s.relationSet;
  const rows = rs.labels.map((l, i) =>
    h(
      'tr',
      {},
      h('td', {}, h('vscode-textfield', { id: `rel-name-${i}`, value: l.name })),
      h(
        'td',
        {},
        h('vscode-textfield', {
          id: `rel-desc-${i}`,
          value: l.description ?? '',
          placeholder: 'description (shown to the model)',
        }),
      ),
      h('td', {}, (l.headTypes ?? []).join(', ') || '—'),
      h('td', {}, (l.tailTypes ?? []).join(', ') || '—'),
    ),
  );
  const save = async () => {
    const labels = rs.labels.map((l, i) => {
      const d = textValue(document.getElementById(`rel-desc-${i}`));
      return {
        ...l,
        name: textValue(document.getElementById(`rel-name-${i}`)) || l.name,
        ...(d ? { description: d } : {}),
      };
    });
    const r = await request('saveRelationSet', { relationSet: { ...rs, labels } });
    toast(r ? `saved ${r.file}` : 'not saved: the file was kept');
  };
  return h(
    'div',
    { class: 'tab' },
    h(
      'p',
      {},
      `${rs.name}: ${rs.labels.length} label(s)${rs.noRelation ? `, no-relation label "${rs.noRelation}"` : ''} — from ${s.relationSetFrom}`,
    ),
    h(
      'table',
      { class: 'grid' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Label'),
          h('th', {}, 'Description'),
          h('th', {}, 'Head types'),
          h('th', {}, 'Tail types'),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
    button('Save relation set', save, { icon: 'save' }),
  );
}

/** The catalog's models, each with Use and Download. */
function catalogTable(s: PanelState): HTMLElement {
  const rows = s.catalog.map((c) =>
    h(
      'tr',
      { class: c.id === s.model ? 'selected' : undefined },
      h('td', {}, c.id),
      h('td', {}, c.parameters),
      h('td', {}, `${(c.size / 1e9).toFixed(1)} GB`),
      h('td', {}, c.hardware),
      h('td', {}, c.recommended),
      h(
        'td',
        {},
        button(
          'Use',
          async () => toast(`model: ${(await request('useModel', { model: c.id })).model}`),
          {
            secondary: true,
          },
        ),
        button(
          'Download',
          async () =>
            toast(
              `downloaded to ${(await request('useModel', { model: c.id, download: true })).path}`,
            ),
          { secondary: true, icon: 'cloud-download' },
        ),
      ),
    ),
  );
  const head = ['Catalog model', 'Size', 'File', 'Hardware', 'Recommended for', ''].map((t) =>
    h('th', {}, t),
  );
  return h(
    'table',
    { class: 'grid' },
    h('thead', {}, h('tr', {}, ...head)),
    h('tbody', {}, ...rows),
  );
}

/** What an adapter's manifest says, in one line. */
function manifestText(a: AdapterView): string {
  const m = a.manifest;
  if (!m) return a.problem ? `manifest unreadable: ${a.problem}` : 'no manifest';
  const dev =
    m.devAccuracy !== null
      ? `, dev ${pct(m.devAccuracy)}% right on ${m.devExamples}${m.heldOut ? ' held out' : ''}`
      : '';
  return `base ${m.base} · ${m.relationSet} · trained on ${m.trainedOn} (${m.examples} examples, ${m.answers})${dev}${m.stopped ? ' · stopped early' : ''} · ${m.created.slice(0, 16).replace('T', ' ')}`;
}

/** One adapter of the list: name, manifest, scale when in use, Use / Remove. */
function adapterRow(s: PanelState, a: AdapterView, i: number): HTMLElement {
  const inUse = a.scale !== null;
  const name = a.path.split(/[\\/]/).pop() ?? a.path;
  return h(
    'tr',
    { class: inUse ? 'selected' : undefined },
    h('td', { title: a.path }, name),
    h('td', { class: 'note' }, manifestText(a)),
    h(
      'td',
      {},
      inUse
        ? h('vscode-textfield', {
            id: `lora-scale-${i}`,
            value: String(a.scale),
            type: 'number',
            step: '0.1',
          })
        : null,
    ),
    h(
      'td',
      {},
      inUse
        ? button(
            'Remove',
            async () =>
              void (await request('setLoras', {
                loras: s.loras.filter((l) => l.path !== a.path),
              })),
            { secondary: true },
          )
        : button(
            'Use',
            async () => void (await request('setLoras', { loras: [{ path: a.path, scale: 1 }] })),
            { secondary: true },
          ),
    ),
  );
}

/** A/B: two adapters of the list (or the base model) on the current record file. */
function abRow(s: PanelState): HTMLElement {
  const options = (id: string, dflt: string) =>
    h(
      'vscode-single-select',
      { id },
      h('vscode-option', { value: '', selected: dflt === '' }, 'base model (no adapter)'),
      ...s.adapters.map((a) =>
        h(
          'vscode-option',
          { value: a.path, selected: dflt === a.path },
          a.path.split(/[\\/]/).pop() ?? a.path,
        ),
      ),
    );
  const run = async () => {
    const a = textValue(document.getElementById('ab-a')) || null;
    const b = textValue(document.getElementById('ab-b')) || null;
    toast('comparing… (two extraction runs on the current record file)');
    const r = await request('compareAdapters', { a, b });
    if (!r) return toast('cancelled');
    if (state) state = { ...state, comparison: r };
    selectedTab = EVALUATE_TAB;
    render();
  };
  return h(
    'div',
    { class: 'row' },
    h('span', {}, 'A/B on the current file:'),
    options('ab-a', ''),
    h('span', {}, 'vs'),
    options('ab-b', s.adapters[0]?.path ?? ''),
    button('Compare', run, { icon: 'diff', id: 'ab-run' }),
  );
}

/** The adapters (in use and known to this workspace) with their manifests, scales, Add, Save and A/B. */
function adapterSection(s: PanelState): HTMLElement[] {
  const saveScales = async () => {
    await request('setLoras', {
      loras: s.adapters.flatMap((a, i) =>
        a.scale === null
          ? []
          : [
              {
                path: a.path,
                scale: Number(textValue(document.getElementById(`lora-scale-${i}`))) || 0,
              },
            ],
      ),
    });
    toast('adapter scales saved');
  };
  return [
    h('h3', {}, 'LoRA adapters'),
    s.adapters.length
      ? h(
          'table',
          { class: 'grid', id: 'adapters' },
          h('tbody', {}, ...s.adapters.map((a, i) => adapterRow(s, a, i))),
        )
      : h(
          'p',
          {},
          'No adapter. Train one with "Relation Lens: Train LoRA Adapter from This File…".',
        ),
    h(
      'div',
      { class: 'row' },
      button('Add adapter…', async () => void (await request('pickLora', {})), { icon: 'add' }),
      s.loras.length ? button('Save scales', saveScales, { secondary: true }) : null,
    ),
    s.adapters.length && s.trusted ? abRow(s) : null,
  ].filter((x): x is HTMLElement => x !== null);
}

/** The retrieval index and k. */
function ragSection(s: PanelState): HTMLElement[] {
  const save = async () => {
    await request('setRag', {
      index: textValue(document.getElementById('rag-index')),
      k: Math.max(1, Number(textValue(document.getElementById('rag-k'))) || 5),
    });
    toast('retrieval settings saved');
  };
  return [
    h('h3', {}, 'Retrieval (RAG4RE)'),
    h(
      'div',
      { class: 'row' },
      h('vscode-label', {}, 'Index folder'),
      h('vscode-textfield', {
        id: 'rag-index',
        value: s.rag.index,
        placeholder: 'relation-lens index build … -o DIR',
      }),
      h('vscode-label', {}, 'k'),
      h('vscode-textfield', { id: 'rag-k', value: String(s.rag.k), type: 'number' }),
      button('Save', save, { secondary: true }),
    ),
  ];
}

function modelsTab(s: PanelState): HTMLElement {
  return h(
    'div',
    { class: 'tab' },
    h(
      'p',
      {},
      `Current model: ${s.model || '(catalog default)'}${s.trusted ? '' : ' — restricted mode: model, adapter, template and index paths from workspace settings are ignored'}`,
    ),
    h(
      'div',
      { class: 'row' },
      button('Local GGUF file…', async () => void (await request('pickModelFile', {})), {
        icon: 'folder-opened',
      }),
    ),
    catalogTable(s),
    ...adapterSection(s),
    ...ragSection(s),
  );
}

/** A click on `el` opens the record view on the records behind it (when the view says which). */
function opens(
  el: HTMLElement,
  file: string | undefined,
  ids: string[] | undefined,
  title: string,
): HTMLElement {
  if (!file || !ids?.length) return el;
  el.classList.add('opens');
  el.title = `${title}: open the ${ids.length} record(s) in the record view`;
  el.addEventListener(
    'click',
    () =>
      void request('openRecords', { file, ids, title }).catch((err: Error) =>
        toast(err.message, true),
      ),
  );
  return el;
}

function evalView(v: EvalView): HTMLElement {
  const bars = v.perRelation
    .slice()
    .sort((a, b) => b.f1 - a.f1)
    .map((r) =>
      opens(
        h(
          'div',
          { class: 'bar-row' },
          h('span', { class: 'bar-label' }, r.label),
          h(
            'span',
            { class: 'bar' },
            h('span', { class: 'bar-fill', style: `width:${(100 * r.f1).toFixed(1)}%` }),
          ),
          h(
            'span',
            { class: 'bar-value' },
            `${pct(r.f1)}  (P ${pct(r.precision)} R ${pct(r.recall)}, gold ${r.gold}, pred ${r.predicted})`,
          ),
        ),
        v.file,
        v.members?.perRelation[r.label],
        `gold or predicted ${r.label}`,
      ),
    );
  const matrix = v.confusion ? confusionTable(v) : null;
  return h(
    'div',
    { class: 'eval' },
    h('h3', {}, v.title),
    h(
      'p',
      { class: 'score' },
      `${v.metric}: P ${pct(v.precision)}  R ${pct(v.recall)}  F1 ${pct(v.f1)}`,
    ),
    h('div', { class: 'bars' }, ...bars),
    matrix ? h('h4', {}, 'Confusion matrix') : null,
    matrix,
  );
}

/** The confusion matrix; a click on a cell opens its records. */
function confusionTable(v: EvalView): HTMLElement {
  const max = Math.max(1, ...v.confusion!.counts.flat());
  return h(
    'table',
    { class: 'confusion' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'gold \\ predicted'),
        ...v.confusion!.labels.map((l) => h('th', { title: l }, l.slice(0, 10))),
      ),
    ),
    h(
      'tbody',
      {},
      ...v.confusion!.counts.map((row, i) =>
        h(
          'tr',
          {},
          h('th', {}, v.confusion!.labels[i]!),
          ...row.map((c, j) =>
            opens(
              h(
                'td',
                {
                  style: c
                    ? `background: color-mix(in srgb, var(--vscode-charts-${i === j ? 'green' : 'red'}) ${Math.round((100 * c) / max)}%, transparent)`
                    : undefined,
                  'data-cell': `${i},${j}`,
                },
                c ? String(c) : '',
              ),
              v.file,
              c ? v.members?.cells[i]?.[j] : undefined,
              `gold ${v.confusion!.labels[i]}, predicted ${v.confusion!.labels[j]}`,
            ),
          ),
        ),
      ),
    ),
  );
}

/** A comparison the host ran (before/after training, A/B of adapters). */
function comparisonView(c: Comparison): HTMLElement {
  return h(
    'div',
    { id: 'comparison' },
    h('h3', {}, c.title),
    h('p', { class: 'note' }, c.note),
    h('div', { class: 'compare' }, evalView(c.a), evalView(c.b)),
  );
}

function evaluateTab(s: PanelState): HTMLElement {
  const out = h('div', { id: 'eval-out' }, s.comparison ? comparisonView(s.comparison) : null);
  return h(
    'div',
    { class: 'tab' },
    h(
      'p',
      {},
      'Scores the current record file: its predictions (model and accepted relations) against its own gold relations, or against a gold file you pick.',
    ),
    h(
      'div',
      { class: 'row' },
      button(
        'Evaluate current file',
        async () => {
          const v = await request('evaluate', {});
          out.replaceChildren(v ? evalView(v) : h('p', {}, 'cancelled'));
        },
        { icon: 'graph', id: 'evaluate' },
      ),
      button(
        'Compare two runs…',
        async () => {
          const r = await request('compare', {});
          out.replaceChildren(
            r
              ? h('div', { class: 'compare' }, evalView(r.a), evalView(r.b))
              : h('p', {}, 'cancelled'),
          );
        },
        { secondary: true, icon: 'diff' },
      ),
      button(
        'Annotator agreement…',
        async () => {
          const r = await request('agreement', {});
          out.replaceChildren(r ? agreementView(r) : h('p', {}, 'cancelled'));
        },
        { secondary: true, icon: 'organization', id: 'agreement' },
      ),
    ),
    out,
  );
}

/** Agreement of annotators: kappa, F1 of each pair, per relation, and the records they differ on. */
function agreementView(a: AgreementView): HTMLElement {
  const [ref, other] = a.annotators;
  const table = h(
    'table',
    { class: 'agreement' },
    h(
      'thead',
      {},
      h('tr', {}, ...['relation', ref!, other!, 'both', 'F1'].map((t) => h('th', {}, t))),
    ),
    h(
      'tbody',
      {},
      ...a.perRelation.map((r) =>
        h(
          'tr',
          {},
          h('th', {}, r.label),
          h('td', {}, String(r.reference)),
          h('td', {}, String(r.other)),
          h('td', {}, String(r.both)),
          h('td', {}, pct(r.f1)),
        ),
      ),
    ),
  );
  const differ = h(
    'p',
    { class: 'disagreements' },
    `${a.disagreements.length} record(s) with a disagreement`,
  );
  return h(
    'div',
    { class: 'eval' },
    h('h3', {}, `Agreement: ${a.annotators.join(', ')}`),
    h(
      'p',
      { class: 'score', id: 'kappa' },
      `${a.kappaKind === 'cohen' ? "Cohen's" : "Fleiss'"} kappa ${a.kappa.toFixed(3)} (observed ${a.observed.toFixed(3)}, by chance ${a.expected.toFixed(3)})`,
    ),
    h(
      'p',
      {},
      `${a.records} record(s) in all files, ${a.pairs} entity pair(s) compared${a.pendingPairs ? `, ${a.pendingPairs} left out (a prediction pending review)` : ''}`,
    ),
    ...a.pairwise.map((p) =>
      h(
        'p',
        {},
        `relation F1 of ${p.other} against ${p.reference}: ${pct(p.f1)} (P ${pct(p.precision)} R ${pct(p.recall)})`,
      ),
    ),
    opens(differ, a.file, a.disagreements, `records ${a.annotators.join(' and ')} disagree on`),
    a.perRelation.length ? table : null,
  );
}

function render(): void {
  const s = state;
  const app = document.getElementById('app')!;
  if (!s) return;
  const tabs = h(
    'vscode-tabs',
    { 'selected-index': String(selectedTab) },
    h('vscode-tab-header', { slot: 'header' }, 'Prompt'),
    h('vscode-tab-panel', {}, promptTab(s)),
    h('vscode-tab-header', { slot: 'header' }, 'Relations'),
    h('vscode-tab-panel', {}, relationsTab(s)),
    h('vscode-tab-header', { slot: 'header' }, 'Models'),
    h('vscode-tab-panel', {}, modelsTab(s)),
    h('vscode-tab-header', { slot: 'header' }, 'Evaluate'),
    h('vscode-tab-panel', {}, evaluateTab(s)),
  );
  tabs.addEventListener(
    'vsc-tabs-select',
    (e) => (selectedTab = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex),
  );
  app.replaceChildren(
    h(
      'header',
      {},
      h('h2', {}, 'Relation Lens'),
      h(
        'span',
        { class: 'note' },
        s.record
          ? `current record: ${s.record.id} (${s.record.file.split(/[\\/]/).pop()}:${s.record.line + 1})`
          : 'no record file open',
      ),
    ),
    tabs,
    h('div', { id: 'toast', class: 'toast' }),
  );
}

/** Shows a state from the host; a new comparison (after training, or an A/B) opens the Evaluate tab. */
function setState(s: PanelState): void {
  if (s.comparison && JSON.stringify(s.comparison) !== JSON.stringify(state?.comparison))
    selectedTab = EVALUATE_TAB;
  state = s;
  render();
}

void request('getState', {}).then(setState);
