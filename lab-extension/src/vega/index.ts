/**
 * An offline renderer for Vega-Lite v6 (`application/vnd.vegalite.v6+json`).
 *
 * Altair 6 emits Vega-Lite v6; JupyterLab 4.6 only bundles a v5 renderer, and
 * Altair's HTML renderer loads vega from a CDN. This plugin registers a
 * renderer that bundles vega 6, vega-lite 6 and vega-embed 7 with labtrack's
 * extension, loaded on first use (a separate chunk), so charts render with no
 * internet connection: in notebook outputs and inside ipywidgets Output views.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  IRenderMime,
  IRenderMimeRegistry,
  renderHTML
} from '@jupyterlab/rendermime';
import { TranslationBundle, nullTranslator } from '@jupyterlab/translation';
import { JSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import type { IEmbedResult } from 'vega-embed';

/** The MIME type Altair 6 (and Vega-Lite 6 tools) emit. */
export const VEGALITE6_MIME_TYPE = 'application/vnd.vegalite.v6+json';

/**
 * labtrack widgets' static view: `{html, chart}` (an HTML card plus an optional Vega-Lite
 * spec). Saved notebooks show it when no live widget is available; it renders the card like
 * `text/html` (sanitized unless the notebook is trusted) and the chart with vega.
 */
export const STATIC_MIME_TYPE = 'application/vnd.labtrack.static+json';

/** Before text/html (50): the card with a real chart beats the card with sparklines. */
const STATIC_RANK = 40;

/** Just after JupyterLab's own vega5 renderer, before text/plain. */
const RANK = 58;

async function embedChart(
  el: HTMLElement,
  spec: JSONObject,
  options: Record<string, unknown> = {}
): Promise<IEmbedResult> {
  const { default: embed } = await import('vega-embed');
  return embed(el, spec, {
    mode: 'vega-lite',
    actions: { export: true, source: false, compiled: false, editor: false },
    defaultStyle: true,
    ...(isDarkTheme() ? { theme: 'dark' } : {}),
    ...options
  });
}

function renderError(reason: unknown, trans: TranslationBundle): HTMLElement {
  const error = document.createElement('pre');
  error.className = 'lt-VegaLite6-error';
  error.textContent = trans.__(
    'Could not render the Vega-Lite chart: %1',
    String(reason)
  );
  return error;
}

/** The labtrack bundle of a renderer's translator (English if none). */
function rendererTrans(
  options: IRenderMime.IRendererOptions
): TranslationBundle {
  return (options.translator ?? nullTranslator).load('labtrack');
}

interface IEmbedMetadata {
  embed_options?: Record<string, unknown>;
}

function isDarkTheme(): boolean {
  return document.body.dataset.jpThemeLight === 'false';
}

/** Renders one Vega-Lite v6 spec with vega-embed. */
export class RenderedVegaLite6 extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this._trans = rendererTrans(options);
    this.addClass('lt-VegaLite6');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const spec = model.data[this._mimeType] as JSONObject | undefined;
    if (spec === undefined) {
      return;
    }
    const metadata = model.metadata[this._mimeType] as
      IEmbedMetadata | undefined;
    const el = document.createElement('div');
    el.className = 'lt-VegaLite6-chart';
    this._result?.finalize();
    this._result = null;
    this.node.replaceChildren(el);
    try {
      this._result = await embedChart(el, spec, metadata?.embed_options);
    } catch (reason) {
      this.node.replaceChildren(renderError(reason, this._trans));
    }
  }

  dispose(): void {
    this._result?.finalize();
    this._result = null;
    super.dispose();
  }

  private _mimeType: string;
  private _trans: TranslationBundle;
  private _result: IEmbedResult | null = null;
}

interface IStaticView {
  html?: string;
  chart?: JSONObject | null;
}

/** A labtrack widget's static view: its HTML card, then its chart. */
export class RenderedStaticView
  extends Widget
  implements IRenderMime.IRenderer
{
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._options = options;
    this.addClass('lt-StaticView');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const view = (model.data[STATIC_MIME_TYPE] ?? {}) as IStaticView;
    const card = document.createElement('div');
    card.className = 'lt-StaticView-card';
    await renderHTML({
      host: card,
      source: view.html ?? '',
      trusted: model.trusted,
      sanitizer: this._options.sanitizer,
      resolver: this._options.resolver,
      linkHandler: this._options.linkHandler,
      shouldTypeset: false,
      latexTypesetter: null
    });
    this._result?.finalize();
    this._result = null;
    this.node.replaceChildren(card);
    if (view.chart) {
      const el = document.createElement('div');
      el.className = 'lt-VegaLite6 lt-VegaLite6-chart';
      this.node.appendChild(el);
      try {
        this._result = await embedChart(el, view.chart);
      } catch (reason) {
        el.replaceChildren(renderError(reason, rendererTrans(this._options)));
      }
    }
  }

  dispose(): void {
    this._result?.finalize();
    this._result = null;
    super.dispose();
  }

  private _options: IRenderMime.IRendererOptions;
  private _result: IEmbedResult | null = null;
}

export const staticViewRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [STATIC_MIME_TYPE],
  createRenderer: options => new RenderedStaticView(options)
};

/** The renderer factory (safe: specs are data; vega runs no arbitrary scripts). */
export const vegaLite6RendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [VEGALITE6_MIME_TYPE],
  createRenderer: options => new RenderedVegaLite6(options)
};

/** Registers the Vega-Lite v6 renderer with the application's rendermime registry. */
export const vegaLite6Plugin: JupyterFrontEndPlugin<void> = {
  id: 'labtrack:vegalite6',
  description:
    "Renders Vega-Lite v6 charts (Altair 6) and labtrack widgets' static views offline.",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry): void => {
    if (rendermime.getFactory(VEGALITE6_MIME_TYPE) === undefined) {
      rendermime.addFactory(vegaLite6RendererFactory, RANK);
    }
    if (rendermime.getFactory(STATIC_MIME_TYPE) === undefined) {
      rendermime.addFactory(staticViewRendererFactory, STATIC_RANK);
    }
  }
};
