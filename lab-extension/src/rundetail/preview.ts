/**
 * The preview of one artifact, rendered client-side from its bytes: images
 * (as typed blobs in <img>), HTML (in a sandboxed iframe), CSV/TSV tables,
 * pretty-printed JSON and plain text.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { el } from '../dom';
import { IArtifactPreview } from '../rundetailmodel';

/** Text previews stop after this many characters. */
const MAX_TEXT = 200_000;
/** CSV previews show at most this many rows. */
const MAX_CSV_ROWS = 500;

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  svg: 'image/svg+xml'
};
const TEXT_EXTENSIONS = new Set([
  'txt',
  'log',
  'md',
  'py',
  'yaml',
  'yml',
  'toml',
  'cfg',
  'ini',
  'sh',
  'r',
  'sql',
  'xml'
]);
const TEXT_NAMES = new Set(['MLmodel', 'requirements.txt', 'conda.yaml']);

/** Split a CSV text into rows (quotes, doubled quotes, CRLF). */
export function parseCSV(text: string, delimiter = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (rows.length > MAX_CSV_ROWS) {
        return rows;
      }
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export function extension(path: string): string {
  const base = path.split('/').pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

export function basename(path: string): string {
  return path.split('/').pop() ?? path;
}

export class ArtifactPreview implements IDisposable {
  constructor(private _trans: TranslationBundle) {
    this.node = el('div', 'lt-Preview', undefined, { 'aria-live': 'polite' });
  }

  readonly node: HTMLElement;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      this._revokeURL();
    }
  }

  /** Show a short status message instead of a file (e.g. "Registered ..."). */
  showMessage(text: string): void {
    ++this._ticket;
    this._revokeURL();
    this.node.replaceChildren(el('p', 'lt-Success', text, { role: 'status' }));
  }

  /** Render the model's preview (nothing, loading, an error or the file). */
  async render(preview: IArtifactPreview | null): Promise<void> {
    const ticket = ++this._ticket;
    const trans = this._trans;
    if (preview === null) {
      this._revokeURL();
      this.node.replaceChildren();
      return;
    }
    const { file, blob } = preview;
    if (preview.loading) {
      this._revokeURL();
      this.node.replaceChildren(el('div', 'lt-Loading', trans.__('Loading…')));
      return;
    }
    if (preview.error || !blob) {
      this.node.replaceChildren(
        el(
          'div',
          'lt-error',
          trans.__('Could not load %1: %2', file.path, String(preview.error))
        )
      );
      return;
    }
    const name = basename(file.path);
    const ext = extension(file.path);
    const head = el('div', 'lt-PreviewHeader');
    head.append(el('span', 'lt-PreviewName', name), el('span', 'lt-Spacer'));
    const download = el(
      'a',
      'jp-Button jp-mod-styled lt-Download',
      trans.__('Download'),
      { download: name }
    );
    head.append(download);
    const body = el('div', 'lt-PreviewBody', undefined, {
      'data-kind': 'none'
    });
    // Images get a typed copy of the bytes; <img> never runs scripts (even in
    // SVG).
    const url = this._setURL(
      IMAGE_TYPES[ext] ? new Blob([blob], { type: IMAGE_TYPES[ext] }) : blob
    );
    download.href = url;
    if (IMAGE_TYPES[ext]) {
      body.dataset.kind = 'image';
      body.append(
        el('img', 'lt-PreviewImage', undefined, { src: url, alt: name })
      );
    } else if (ext === 'html' || ext === 'htm') {
      // No allow-same-origin: the page gets an opaque origin and cannot
      // reach JupyterLab, its cookies or its DOM; no modals either.
      body.dataset.kind = 'html';
      const frame = el('iframe', 'lt-PreviewFrame', undefined, {
        sandbox: 'allow-scripts',
        title: trans.__('Preview of %1', name),
        referrerpolicy: 'no-referrer'
      });
      frame.srcdoc = await blob.text();
      body.append(frame);
    } else if (ext === 'csv' || ext === 'tsv') {
      body.dataset.kind = 'csv';
      body.append(this._csvTable(await blob.slice(0, MAX_TEXT).text(), ext));
    } else if (ext === 'json') {
      body.dataset.kind = 'json';
      const text = await blob.slice(0, MAX_TEXT).text();
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not valid JSON (or truncated): show the raw text.
      }
      body.append(el('pre', 'lt-Text', pretty));
    } else if (TEXT_EXTENSIONS.has(ext) || TEXT_NAMES.has(name)) {
      body.dataset.kind = 'text';
      body.append(el('pre', 'lt-Text', await blob.slice(0, MAX_TEXT).text()));
    } else {
      body.append(
        el('p', 'lt-Empty', trans.__('No preview for this file type.'))
      );
    }
    if (ticket === this._ticket) {
      this.node.replaceChildren(head, body);
    }
  }

  private _csvTable(text: string, ext: string): HTMLElement {
    const rows = parseCSV(text, ext === 'tsv' ? '\t' : ',');
    const table = el('table', 'lt-CsvTable', undefined, {
      'aria-label': this._trans.__('CSV preview')
    });
    if (rows.length === 0) {
      return table;
    }
    const thead = el('thead');
    const hr = el('tr');
    for (const h of rows[0]) {
      hr.append(el('th', '', h, { scope: 'col' }));
    }
    thead.append(hr);
    const tbody = el('tbody');
    for (const r of rows.slice(1, MAX_CSV_ROWS + 1)) {
      const tr = el('tr');
      for (const c of r) {
        tr.append(el('td', '', c));
      }
      tbody.append(tr);
    }
    table.append(thead, tbody);
    return table;
  }

  private _setURL(blob: Blob): string {
    this._revokeURL();
    this._objectURL = URL.createObjectURL(blob);
    return this._objectURL;
  }

  private _revokeURL(): void {
    if (this._objectURL) {
      URL.revokeObjectURL(this._objectURL);
      this._objectURL = null;
    }
  }

  private _objectURL: string | null = null;
  private _ticket = 0;
  private _isDisposed = false;
}
