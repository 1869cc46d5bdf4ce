/**
 * The page of a Relation Lens webview (the panel, the record view): one script and stylesheet
 * from the extension's dist/webview folder plus the codicons, under a Content-Security-Policy that
 * allows nothing else — no remote content, scripts only with this page's nonce.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewHtml(
  w: vscode.Webview,
  media: vscode.Uri,
  page: { script: string; style: string; title: string; images?: boolean },
): string {
  const nonce = randomBytes(16).toString('base64');
  const uri = (f: string) => w.asWebviewUri(vscode.Uri.joinPath(media, f));
  const img = page.images ? ` img-src ${w.cspSource} data:;` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${w.cspSource} 'unsafe-inline'; font-src ${w.cspSource};${img} script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('codicon.css')}" id="vscode-codicon-stylesheet"><link rel="stylesheet" href="${uri(page.style)}">
<title>${page.title}</title></head>
<body><div id="app">Loading…</div><script nonce="${nonce}" src="${uri(page.script)}"></script></body></html>`;
}
