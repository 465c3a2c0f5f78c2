/**
 * Run detail: overview, notes (markdown, sanitized by JupyterLab's
 * renderer), params, metrics with charts, tags, and the artifact browser
 * with client-side previews.
 */

import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { fileIcon, folderIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  IFileInfo,
  IRun,
  downloadArtifact,
  getMetricSeries,
  getRun,
  listRunArtifacts,
  metricNumber,
  registerModel,
  setRunTag
} from './api';
import { CurveChart } from './charts';
import {
  button,
  el,
  formatMetric,
  formatTime,
  runDuration,
  runName,
  seriesColor,
  statusBadge,
  tagValue
} from './dom';
import { ILabtrackModel, ModelChange } from './tokens';

export const NOTE_TAG = 'mlflow.note.content';
/** Text previews stop after this many characters. */
const MAX_TEXT = 200_000;
/** CSV previews show at most this many rows. */
const MAX_CSV_ROWS = 500;
/** At most this many metric charts on the detail page. */
const MAX_CHARTS = 8;

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

export interface IRunDetailOptions {
  rendermime?: IRenderMimeRegistry | null;
  serverSettings?: ServerConnection.ISettings;
  /** Open a file (server-root relative path) in JupyterLab. */
  openPath?: (path: string) => void;
}

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

/**
 * The server-root relative path of a run's source, when it is a file under
 * the Jupyter server root (so it can be opened in JupyterLab).
 */
export function openablePath(source: string | undefined): string | null {
  if (!source) {
    return null;
  }
  const root = (PageConfig.getOption('serverRoot') || '').replace(/\/+$/, '');
  if (!source.startsWith('/')) {
    // Already relative (e.g. logged from a notebook in the server root).
    return /^[^:]+\.(ipynb|py)$/.test(source) ? source : null;
  }
  if (root && source.startsWith(root + '/')) {
    return source.slice(root.length + 1);
  }
  return null;
}

function extension(path: string): string {
  const base = path.split('/').pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot < 0 ? '' : base.slice(dot + 1).toLowerCase();
}

function basename(path: string): string {
  return path.split('/').pop() ?? path;
}

function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export class RunDetailView extends Widget {
  constructor(model: ILabtrackModel, options: IRunDetailOptions = {}) {
    super();
    this._model = model;
    this._options = options;
    this.addClass('lt-RunDetail');
    this._content = el('div', 'lt-RunDetailContent');
    this.node.append(this._content);
    model.changed.connect(this._onModelChanged, this);
    model.runsChanged.connect(this._onRunsChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._disposeCharts();
    this._revokeURL();
    this._noteRenderer?.dispose();
    this._model.changed.disconnect(this._onModelChanged, this);
    this._model.runsChanged.disconnect(this._onRunsChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._load();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    for (const chart of this._charts.values()) {
      chart.resize();
    }
  }

  private _onModelChanged(_: ILabtrackModel, change: ModelChange): void {
    if (change === 'view' && this.isVisible) {
      this._load();
    } else if (change === 'runSelection' && this._run) {
      this._renderCompareToggle();
    }
  }

  private _onRunsChanged(_: ILabtrackModel, ids: ReadonlySet<string>): void {
    const id = this._run?.info.run_id;
    if (id && ids.has(id) && this.isVisible) {
      void this._reload(true);
    }
  }

  /** Show the model's detail run (a new run, or the same one refreshed). */
  private _load(): void {
    const id = this._model.detailRunId;
    if (!id) {
      this._content.replaceChildren(
        el('p', 'lt-Empty', 'Open a run from the runs table or the sidebar.')
      );
      return;
    }
    if (id !== this._run?.info.run_id) {
      this._run = null;
      this._artifactDir = '';
      this._content.replaceChildren(
        el('div', 'lt-Loading', 'Loading…', { role: 'status' })
      );
      void this._reload(false);
    }
  }

  private async _reload(live: boolean): Promise<void> {
    const id = this._model.detailRunId;
    if (!id) {
      return;
    }
    try {
      const run = await getRun(id, this._options.serverSettings);
      if (id !== this._model.detailRunId) {
        return;
      }
      const first = !live || !this._run;
      this._run = run;
      if (first) {
        this._render();
      } else {
        this._renderLive();
      }
    } catch (reason) {
      if (!live) {
        this._content.replaceChildren(
          el('div', 'lt-error', `Could not load the run: ${String(reason)}`, {
            role: 'alert'
          })
        );
      }
    }
  }

  private _render(): void {
    const run = this._run!;
    this._disposeCharts();
    const header = el('div', 'lt-DetailHeader');
    this._title = el('h2', 'lt-PaneHeading lt-RunTitle', runName(run));
    this._statusSlot = el('span', 'lt-StatusSlot');
    this._statusSlot.append(statusBadge(run.info.status));
    this._compareToggle = button('', () => {
      if (this._run) {
        this._model.setRunSelected(
          this._run,
          !this._model.isRunSelected(this._run.info.run_id)
        );
      }
    });
    header.append(
      this._title,
      this._statusSlot,
      el('span', 'lt-Spacer'),
      this._compareToggle,
      button('Back to runs', () => this._model.setView('runs'))
    );
    this._renderCompareToggle();

    this._overview = el('dl', 'lt-Overview');
    this._renderOverview();

    this._notesBox = el('section', 'lt-Section lt-Notes', undefined, {
      'aria-label': 'Notes'
    });
    this._renderNotes();

    this._paramsBox = el('section', 'lt-Section');
    this._metricsBox = el('section', 'lt-Section');
    this._tagsBox = el('section', 'lt-Section');
    this._chartsBox = el('div', 'lt-MetricCharts');
    this._renderData();

    this._artifactsBox = el('section', 'lt-Section lt-Artifacts', undefined, {
      'aria-label': 'Artifacts'
    });
    this._content.replaceChildren(
      header,
      this._overview,
      this._notesBox,
      this._metricsBox,
      this._chartsBox,
      this._paramsBox,
      this._tagsBox,
      this._artifactsBox
    );
    this._renderArtifacts();
    void this._renderCharts(false);
  }

  /** A live refresh: status, overview, metrics and charts, keep the rest. */
  private _renderLive(): void {
    const run = this._run!;
    this._title.textContent = runName(run);
    this._statusSlot.replaceChildren(statusBadge(run.info.status));
    this._renderOverview();
    this._renderData();
    void this._renderCharts(true);
  }

  private _renderCompareToggle(): void {
    const selected = this._model.isRunSelected(this._run?.info.run_id ?? '');
    this._compareToggle.textContent = selected
      ? 'Remove from comparison'
      : 'Add to comparison';
  }

  private _renderOverview(): void {
    const run = this._run!;
    const info = run.info;
    const rows: [string, Node | string][] = [
      ['Run ID', info.run_id],
      ['Experiment', info.experiment_id],
      ['Status', info.status],
      ['Started', formatTime(info.start_time)],
      ['Duration', runDuration(run)],
      ['User', info.user_id ?? tagValue(run, 'mlflow.user') ?? '']
    ];
    const source = tagValue(run, 'mlflow.source.name');
    if (source) {
      const path = openablePath(source);
      if (path && this._options.openPath) {
        const link = el('button', 'lt-LinkButton lt-SourceLink', source, {
          type: 'button',
          title: `Open ${path} in JupyterLab`,
          'data-path': path
        });
        link.addEventListener('click', () => this._options.openPath?.(path));
        rows.push(['Source', link]);
      } else {
        rows.push(['Source', source]);
      }
    }
    const commit = tagValue(run, 'mlflow.source.git.commit');
    if (commit) {
      rows.push(['Git commit', commit]);
    }
    this._overview.replaceChildren();
    for (const [term, value] of rows) {
      const dd = el('dd', '', typeof value === 'string' ? value : undefined);
      if (typeof value !== 'string') {
        dd.append(value);
      }
      this._overview.append(el('dt', '', term), dd);
    }
  }

  private _renderNotes(editing = false): void {
    const run = this._run!;
    const note = tagValue(run, NOTE_TAG) ?? '';
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', 'Notes'));
    this._noteRenderer?.dispose();
    this._noteRenderer = null;
    if (editing) {
      const area = el('textarea', 'jp-mod-styled lt-NoteEditor', undefined, {
        'aria-label': 'Notes (markdown)',
        rows: '8'
      });
      area.value = note;
      const save = button(
        'Save',
        () => {
          void setRunTag(
            run.info.run_id,
            NOTE_TAG,
            area.value,
            this._options.serverSettings
          )
            .then(() => getRun(run.info.run_id, this._options.serverSettings))
            .then(fresh => {
              this._run = fresh;
              this._renderNotes();
            })
            .catch(reason =>
              showErrorMessage('Could not save the notes', String(reason))
            );
        },
        'jp-mod-accept lt-SaveNote'
      );
      const cancel = button('Cancel', () => this._renderNotes());
      const actions = el('div', 'lt-Actions');
      actions.append(save, cancel);
      this._notesBox.replaceChildren(head, area, actions);
      area.focus();
      return;
    }
    head.append(
      button('Edit', () => this._renderNotes(true), 'lt-EditNote', {
        'aria-label': 'Edit notes'
      })
    );
    const body = el('div', 'lt-NoteBody');
    if (!note) {
      body.append(el('p', 'lt-Empty', 'No notes yet.'));
    } else if (this._options.rendermime) {
      // JupyterLab's markdown renderer; untrusted, so the HTML is sanitized.
      const renderer = this._options.rendermime.createRenderer('text/markdown');
      this._noteRenderer = renderer;
      void renderer.renderModel(
        new MimeModel({ data: { 'text/markdown': note }, trusted: false })
      );
      body.append(renderer.node);
    } else {
      body.append(el('pre', 'lt-Text', note));
    }
    this._notesBox.replaceChildren(head, body);
  }

  private _keyValueTable(
    title: string,
    rows: [string, string][],
    attr: string
  ): HTMLElement[] {
    const heading = el('h3', 'lt-SectionHeading', `${title} (${rows.length})`);
    if (rows.length === 0) {
      return [heading, el('p', 'lt-Empty', 'None.')];
    }
    const table = el('table', 'lt-KVTable', undefined, { 'aria-label': title });
    const body = el('tbody');
    for (const [key, value] of rows) {
      const tr = el('tr');
      tr.append(
        el('th', '', key, { scope: 'row' }),
        el('td', '', value, { [attr]: key })
      );
      body.append(tr);
    }
    table.append(body);
    return [heading, table];
  }

  private _renderData(): void {
    const run = this._run!;
    const params = (run.data.params ?? [])
      .map(p => [p.key, p.value] as [string, string])
      .sort((a, b) => a[0].localeCompare(b[0]));
    const metrics = (run.data.metrics ?? [])
      .map(
        m =>
          [m.key, `${formatMetric(m.value)}  (step ${m.step})`] as [
            string,
            string
          ]
      )
      .sort((a, b) => a[0].localeCompare(b[0]));
    const tags = (run.data.tags ?? [])
      .filter(t => t.key !== NOTE_TAG)
      .map(t => [t.key, t.value] as [string, string])
      .sort((a, b) => a[0].localeCompare(b[0]));
    this._paramsBox.replaceChildren(
      ...this._keyValueTable('Parameters', params, 'data-param')
    );
    this._metricsBox.replaceChildren(
      ...this._keyValueTable('Metrics', metrics, 'data-metric-latest')
    );
    this._tagsBox.replaceChildren(
      ...this._keyValueTable('Tags', tags, 'data-tag')
    );
  }

  private async _renderCharts(live: boolean): Promise<void> {
    const run = this._run!;
    const keys = (run.data.metrics ?? [])
      .map(m => m.key)
      .sort((a, b) => a.localeCompare(b))
      .slice(0, MAX_CHARTS);
    for (const key of keys) {
      let chart = this._charts.get(key);
      if (!chart) {
        const box = el('div', 'lt-MetricChart', undefined, {
          'data-metric': key
        });
        box.append(el('h4', 'lt-ChartTitle', key));
        const plot = el('div', 'lt-ChartPlot');
        box.append(plot);
        this._chartsBox.append(box);
        chart = new CurveChart(plot, {
          xMode: 'step',
          logY: false,
          smoothing: 0,
          height: 180
        });
        this._charts.set(key, chart);
      }
      try {
        const [series] = await getMetricSeries(
          [run.info.run_id],
          key,
          { maxPoints: 500 },
          this._options.serverSettings
        );
        if (!series || this._run?.info.run_id !== run.info.run_id) {
          continue;
        }
        chart.setCurves(
          [
            {
              label: key,
              detail: runName(run),
              color: seriesColor(0),
              xs: series.steps,
              ys: series.values.map(metricNumber),
              mins: series.mins?.map(metricNumber),
              maxs: series.maxs?.map(metricNumber)
            }
          ],
          live
        );
      } catch (reason) {
        console.warn('labtrack: metric chart failed', reason);
      }
    }
  }

  private _disposeCharts(): void {
    for (const chart of this._charts.values()) {
      chart.dispose();
    }
    this._charts.clear();
  }

  /* ----------------------------------------------------------- artifacts */

  private _renderArtifacts(): void {
    const run = this._run!;
    const dir = this._artifactDir;
    const head = el('div', 'lt-SectionHeader');
    head.append(el('h3', 'lt-SectionHeading', 'Artifacts'));
    const crumbs = el('nav', 'lt-Breadcrumbs', undefined, {
      'aria-label': 'Artifact folder'
    });
    const parts = dir ? dir.split('/') : [];
    const rootCrumb = el('button', 'lt-LinkButton', 'artifacts', {
      type: 'button'
    });
    rootCrumb.addEventListener('click', () => this._openDir(''));
    crumbs.append(rootCrumb);
    parts.forEach((part, i) => {
      crumbs.append(el('span', 'lt-CrumbSep', '/'));
      const crumb = el('button', 'lt-LinkButton', part, { type: 'button' });
      const target = parts.slice(0, i + 1).join('/');
      crumb.addEventListener('click', () => this._openDir(target));
      crumbs.append(crumb);
    });
    head.append(crumbs);
    this._artifactList = el('ul', 'lt-ArtifactList', undefined, {
      'aria-label': 'Artifact files'
    });
    this._preview = el('div', 'lt-Preview', undefined, {
      'aria-live': 'polite'
    });
    const body = el('div', 'lt-ArtifactBody');
    body.append(this._artifactList, this._preview);
    this._artifactsBox.replaceChildren(head, body);
    void listRunArtifacts(run.info.run_id, dir, this._options.serverSettings)
      .then(files => this._renderFiles(files))
      .catch(reason => {
        this._artifactList.replaceChildren(
          el('li', 'lt-error', `Could not list artifacts: ${String(reason)}`)
        );
      });
  }

  private _openDir(dir: string): void {
    this._artifactDir = dir;
    this._renderArtifacts();
  }

  private _renderFiles(files: IFileInfo[]): void {
    const run = this._run!;
    const sorted = [...files].sort(
      (a, b) =>
        Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path)
    );
    if (sorted.length === 0) {
      this._artifactList.replaceChildren(el('li', 'lt-Empty', 'No artifacts.'));
      return;
    }
    const items = sorted.map(file => {
      const li = el('li', 'lt-ArtifactEntry');
      const name = basename(file.path);
      const open = el(
        'button',
        `lt-ArtifactItem ${file.is_dir ? 'lt-mod-dir' : 'lt-mod-file'}`,
        undefined,
        {
          type: 'button',
          'data-path': file.path,
          title: file.path
        }
      );
      open.append(
        (file.is_dir ? folderIcon : fileIcon).element({
          className: 'lt-ArtifactIcon',
          tag: 'span',
          height: '16px',
          width: '16px'
        }),
        el('span', 'lt-ArtifactName', name),
        el(
          'span',
          'lt-ArtifactSize',
          file.is_dir ? '' : formatSize(file.file_size)
        )
      );
      open.addEventListener('click', () => {
        if (file.is_dir) {
          this._openDir(file.path);
        } else {
          for (const other of Array.from(
            this._artifactList.querySelectorAll('.lt-mod-active')
          )) {
            other.classList.remove('lt-mod-active');
          }
          open.classList.add('lt-mod-active');
          void this._showPreview(file);
        }
      });
      li.append(open);
      return li;
    });
    this._artifactList.replaceChildren(...items);
    // A model folder (it holds an MLmodel file) can be registered.
    if (sorted.some(f => !f.is_dir && basename(f.path) === 'MLmodel')) {
      const register = button(
        'Register model…',
        () => void this._register(run, this._artifactDir),
        'jp-mod-accept lt-RegisterModel'
      );
      const li = el('li', 'lt-ArtifactEntry lt-RegisterEntry');
      li.append(register);
      this._artifactList.prepend(li);
    }
  }

  private async _register(run: IRun, path: string): Promise<void> {
    const result = await InputDialog.getText({
      title: 'Register model',
      label: `Register "${path || 'artifacts'}" of run ${runName(run)} as:`,
      placeholder: 'model name',
      text: basename(path) || runName(run)
    });
    const name = result.value?.trim();
    if (!result.button.accept || !name) {
      return;
    }
    try {
      const version = await registerModel(
        name,
        run,
        path,
        this._options.serverSettings
      );
      this._preview.replaceChildren(
        el(
          'p',
          'lt-Success',
          `Registered ${version.name} version ${version.version}.`,
          { role: 'status' }
        )
      );
    } catch (reason) {
      await showErrorMessage('Could not register the model', String(reason));
    }
  }

  private _revokeURL(): void {
    if (this._objectURL) {
      URL.revokeObjectURL(this._objectURL);
      this._objectURL = null;
    }
  }

  private async _showPreview(file: IFileInfo): Promise<void> {
    const run = this._run!;
    const ticket = ++this._previewTicket;
    this._revokeURL();
    this._preview.replaceChildren(el('div', 'lt-Loading', 'Loading…'));
    let blob: Blob;
    try {
      blob = await downloadArtifact(
        run,
        file.path,
        this._options.serverSettings
      );
    } catch (reason) {
      if (ticket === this._previewTicket) {
        this._preview.replaceChildren(
          el(
            'div',
            'lt-error',
            `Could not load ${file.path}: ${String(reason)}`
          )
        );
      }
      return;
    }
    if (ticket !== this._previewTicket) {
      return;
    }
    const name = basename(file.path);
    const ext = extension(file.path);
    const head = el('div', 'lt-PreviewHeader');
    head.append(el('span', 'lt-PreviewName', name), el('span', 'lt-Spacer'));
    const download = el(
      'a',
      'jp-Button jp-mod-styled lt-Download',
      'Download',
      {
        download: name
      }
    );
    this._objectURL = URL.createObjectURL(blob);
    download.href = this._objectURL;
    head.append(download);
    const body = el('div', 'lt-PreviewBody', undefined, {
      'data-kind': 'none'
    });
    if (IMAGE_TYPES[ext]) {
      // A typed copy of the bytes; <img> never runs scripts (even in SVG).
      this._revokeURL();
      this._objectURL = URL.createObjectURL(
        new Blob([blob], { type: IMAGE_TYPES[ext] })
      );
      download.href = this._objectURL;
      body.dataset.kind = 'image';
      body.append(
        el('img', 'lt-PreviewImage', undefined, {
          src: this._objectURL,
          alt: name
        })
      );
    } else if (ext === 'html' || ext === 'htm') {
      // No allow-same-origin: the page gets an opaque origin and cannot
      // reach JupyterLab, its cookies or its DOM; no modals either.
      body.dataset.kind = 'html';
      const frame = el('iframe', 'lt-PreviewFrame', undefined, {
        sandbox: 'allow-scripts',
        title: `Preview of ${name}`,
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
      body.append(el('p', 'lt-Empty', 'No preview for this file type.'));
    }
    this._preview.replaceChildren(head, body);
  }

  private _csvTable(text: string, ext: string): HTMLElement {
    const rows = parseCSV(text, ext === 'tsv' ? '\t' : ',');
    const table = el('table', 'lt-CsvTable', undefined, {
      'aria-label': 'CSV preview'
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

  private _model: ILabtrackModel;
  private _options: IRunDetailOptions;
  private _run: IRun | null = null;
  private _content: HTMLElement;
  private _title!: HTMLElement;
  private _statusSlot!: HTMLElement;
  private _compareToggle!: HTMLButtonElement;
  private _overview!: HTMLElement;
  private _notesBox!: HTMLElement;
  private _paramsBox!: HTMLElement;
  private _metricsBox!: HTMLElement;
  private _tagsBox!: HTMLElement;
  private _chartsBox!: HTMLElement;
  private _artifactsBox!: HTMLElement;
  private _artifactList!: HTMLElement;
  private _preview!: HTMLElement;
  private _artifactDir = '';
  private _charts = new Map<string, CurveChart>();
  private _noteRenderer: Widget | null = null;
  private _objectURL: string | null = null;
  private _previewTicket = 0;
}
