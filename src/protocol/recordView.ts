/**
 * The protocol between the record view's webview (webview/recordView.ts) and its host
 * (src/vscode/recordView.ts). The host sends the file's records as views (core/editor/recordView)
 * — all of them when the view opens or lines were added or removed, else only the changed lines;
 * the webview sends the curator's actions by line. Both sides validate (zod).
 */
import { z } from 'zod';
import { RELATION_STATUSES } from '../core/schema';

const STATUSES = ['agree', 'extra', 'wrong-label', 'missing', 'gold', 'prediction'] as const;

export const RecordViewSchema = z
  .object({
    id: z.string(),
    segments: z.array(
      z
        .object({
          text: z.string(),
          entity: z.number().int().optional(),
          mention: z.number().int().optional(),
          start: z.number().int(),
          sentence: z.number().int().optional(),
        })
        .strict(),
    ),
    entities: z.array(
      z
        .object({ id: z.string(), name: z.string(), type: z.string().nullable().optional() })
        .strict(),
    ),
    triples: z.array(
      z
        .object({
          relation: z.number().int(),
          head: z.number().int(),
          tail: z.number().int(),
          label: z.string(),
          status: z.enum(STATUSES),
          decision: z.enum(RELATION_STATUSES).optional(),
          source: z.enum(['gold', 'model', 'human']).optional(),
          score: z.number().nullable().optional(),
          text: z.string(),
          at: z.tuple([z.number().int(), z.number().int()]).optional(),
        })
        .strict(),
    ),
    pending: z.number().int(),
    reviewed: z.boolean(),
    /** Set aside by a curator (meta.ignored). */
    ignored: z.boolean().optional(),
    sources: z.array(z.string()),
  })
  .strict();

export type RecordView = z.infer<typeof RecordViewSchema>;
/**
 * What the host sends per record: its view as JSON text, and whether it is reviewed (the progress
 * bar counts it before any view is read). The webview keeps each view as that one string until it
 * is used, then parses it and checks it with RecordViewSchema: a 50,000-record file is 50,000
 * strings in the webview's heap, which the garbage collector passes over without looking in,
 * rather than a million and a half small objects it must trace on every collection (what made
 * scrolling stutter when a collection fell in a frame).
 */
export type RecordItem = { line: number; reviewed: boolean; view: string };
export function recordItem(line: number, view: RecordView): RecordItem {
  const json = JSON.stringify(view);
  // A string with any character beyond Latin-1 takes two bytes a character in a JS heap: escaped
  // (\uXXXX, six one-byte characters each) where that is smaller — English text with a few arrows
  // and dashes, not Chinese.
  const escaped = json.replace(
    /[\u0100-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return { line, reviewed: view.reviewed, view: escaped.length < 2 * json.length ? escaped : json };
}
/**
 * The envelope is checked on arrival; each item's view when the webview first uses it (a
 * 50,000-record file would otherwise spend a second validating records nobody scrolls to).
 */
const ItemSchema = z
  .object({ line: z.number().int(), reviewed: z.boolean(), view: z.string() })
  .strict();

/**
 * The record view's actions, each a command (`relationLens.recordView.ACTION`) with a contributed
 * keybinding (package.json; users remap them in Keyboard Shortcuts): VS Code resolves the key the
 * webview forwards, and the host sends the action to the active view.
 */
export const RECORD_VIEW_ACTIONS = {
  next: { title: 'Next Record', keys: ['j', 'down'] },
  previous: { title: 'Previous Record', keys: ['k', 'up'] },
  nextRelation: { title: 'Next Relation in the Record', keys: ['n', 'right'] },
  previousRelation: { title: 'Previous Relation in the Record', keys: ['p', 'left'] },
  first: { title: 'First Record', keys: ['home'] },
  last: { title: 'Last Record', keys: ['end'] },
  extendNext: { title: 'Extend the Selection to the Next Record', keys: ['shift+j'] },
  extendPrevious: { title: 'Extend the Selection to the Previous Record', keys: ['shift+k'] },
  accept: { title: 'Accept the Relation', keys: ['a'] },
  ignore: { title: 'Ignore the Relation (Not Sure, Skip)', keys: ['i'] },
  ignoreRecord: { title: 'Ignore the Record (Not Sure, Skip), or Take It Back', keys: ['shift+i'] },
  reject: { title: 'Reject the Relation', keys: ['r'] },
  relabel: { title: 'Relabel the Relation…', keys: ['l'] },
  delete: { title: 'Delete the Relation', keys: ['delete'] },
  addRelation: { title: 'Add a Relation…', keys: ['e'] },
  addEntity: { title: 'Add the Selected Text as an Entity', keys: ['m'] },
  extract: { title: 'Extract Relations in the Selected Records', keys: ['x'] },
  openText: { title: 'Show the Record in the Text Editor', keys: ['o'] },
  nextInQueue: { title: 'Next Record to Review', keys: ['q'] },
  search: { title: 'Search the Records (Text and Entities, Regex)', keys: ['/'] },
} as const;
export type RecordViewAction = keyof typeof RECORD_VIEW_ACTIONS;
const ACTION_NAMES = Object.keys(RECORD_VIEW_ACTIONS) as [RecordViewAction, ...RecordViewAction[]];

/**
 * The context keys of the record view's keybindings: the view has the keyboard focus, and one of
 * its text fields has it (the keys type there).
 */
export const RECORD_VIEW_FOCUS = 'relationLens.recordView.focus';
export const RECORD_VIEW_INPUT_FOCUS = 'relationLens.recordView.inputFocus';
/** The `when` of every record-view keybinding (package.json). */
export const RECORD_VIEW_KEYS_WHEN = `activeCustomEditorId == 'relationLens.recordView' && ${RECORD_VIEW_FOCUS} && !${RECORD_VIEW_INPUT_FOCUS}`;

export const ViewHostMessageSchema = z.union([
  z
    .object({
      type: z.literal('records'),
      file: z.string(),
      /** true: `items` is the whole file; false: these lines changed (others stay). */
      reset: z.boolean(),
      items: z.array(ItemSchema),
      /** Lines that no longer hold a valid record (shown as such, with their line number). */
      invalid: z.array(z.number().int()),
      labels: z.array(z.string()),
      /** Names of label ids (DocRED's P-numbers): shown for the ids, the ids in tooltips. */
      labelNames: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  z.object({ type: z.literal('focus'), line: z.number().int() }).strict(),
  /** A record-view command (its keybinding) for the active view. */
  z.object({ type: z.literal('action'), action: z.enum(ACTION_NAMES) }).strict(),
  /**
   * Show only these lines (the records behind a confusion cell or a relation of the panel's
   * evaluation), with what they are; null lines: all records again. The host keeps the records'
   * ids and sends their lines again when lines are added or removed above them.
   */
  z
    .object({
      type: z.literal('only'),
      lines: z.array(z.number().int()).nullable(),
      title: z.string(),
    })
    .strict(),
]);
export type ViewHostMessage = z.infer<typeof ViewHostMessageSchema>;

const Line = z.number().int().nonnegative();
export const ViewMessageSchema = z.union([
  z.object({ type: z.literal('ready') }).strict(),
  z
    .object({
      type: z.literal('curate'),
      line: Line,
      relation: z.number().int().nonnegative(),
      action: z.enum(['accept', 'reject', 'ignore', 'relabel', 'delete']),
    })
    .strict(),
  z
    .object({
      type: z.literal('addRelation'),
      line: Line,
      /** Entity indices; absent: the host asks for them (keyboard: a quick pick each). */
      head: z.number().int().nonnegative().optional(),
      tail: z.number().int().nonnegative().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('addEntity'),
      line: Line,
      start: z.number().int().nonnegative(),
      end: z.number().int().nonnegative(),
    })
    .strict(),
  z.object({ type: z.literal('extract'), lines: z.array(Line).min(1) }).strict(),
  z.object({ type: z.literal('openText'), line: Line }).strict(),
  /** Sets the record aside (meta.ignored), or takes it back. */
  z.object({ type: z.literal('ignoreRecord'), line: Line }).strict(),
  /**
   * Where the keyboard focus is: in the view (its keybindings apply), and in one of its text
   * fields (they stand aside: the keys type there).
   */
  z.object({ type: z.literal('focusState'), view: z.boolean(), input: z.boolean() }).strict(),
  /** The "only these records" filter was cleared in the view (the host stops following its records). */
  z.object({ type: z.literal('clearOnly') }).strict(),
]);
export type ViewMessage = z.infer<typeof ViewMessageSchema>;
