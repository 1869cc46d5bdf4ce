/**
 * The relation set of the active file as the inline triples and hovers read it: its no-relation
 * label (left out) and how its labels show (names for ids, e.g. DocRED's P-numbers). Refreshed
 * when the active editor or the settings change; `changed` redraws what depends on it.
 */
import * as vscode from 'vscode';
import { labelNamer } from '../core/editor/labels';
import { RelationSet } from '../core/schema';
import { relationSetOf } from './extract';

export class ActiveRelationSet {
  noRelation: string | null | undefined;
  nameOf = labelNamer(undefined);
  set: RelationSet | undefined;

  constructor(private readonly changed: () => void) {}

  async refresh(): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    const rs = doc ? await relationSetOf(doc).catch(() => undefined) : undefined;
    this.set = rs;
    this.noRelation = rs?.noRelation;
    this.nameOf = labelNamer(rs);
    this.changed();
  }
}
