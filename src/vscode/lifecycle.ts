/**
 * One owner of lifetimes (after vscode-pull-request-github's `common/lifecycle.ts`): a class that
 * holds listeners, decoration types or other disposables registers each with `_register` and
 * gets one `dispose()` that releases them all, in reverse order, once.
 */
import * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private _isDisposed = false;
  private readonly _disposables: vscode.Disposable[] = [];

  /** Keeps `d` until this object is disposed (disposes it at once if that happened already). */
  protected _register<T extends vscode.Disposable>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this._disposables.push(d);
    return d;
  }

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    for (const d of this._disposables.splice(0).reverse()) d.dispose();
  }
}
