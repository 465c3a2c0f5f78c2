/**
 * A toolbar's overflow: a "More" disclosure button and the panel of the
 * less used controls it shows. The controls stay ordinary buttons and
 * checkboxes in the tab order; Escape or a click elsewhere closes the panel
 * and focus returns to the button.
 *
 * As JupyterLab's own toolbars do in a narrow pane, the toolbar's rows stay
 * one line each: controls that do not fit move into the panel (lowest
 * priority first) and come back when there is room (`manage`; the rows
 * refit when their pane resizes or their content changes).
 * Nothing is clipped or overlaps; a moved control keeps its node, name and
 * handlers, so it works the same from the panel.
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { el } from './dom';

let nextId = 0;

/** A toolbar control that may move into the "More" panel. */
export interface IOverflowItem {
  /** The control, or a group of controls that move together. */
  node: HTMLElement;
  /** Lower moves first and comes back last. */
  priority: number;
}

/**
 * Which of `items` go into the menu: the lowest priorities until the row
 * fits, then those moved come back (highest priority first) while the row
 * still fits with them. `fits(moved)` lays the row out with `moved` in the
 * menu and tells whether it is one line.
 */
export function planOverflow<T extends { priority: number }>(
  items: readonly T[],
  fits: (moved: ReadonlySet<T>) => boolean
): Set<T> {
  const moved = new Set<T>();
  if (fits(moved)) {
    return moved;
  }
  // Stable: among equal priorities the later item (further right) moves first.
  const order = items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => a.item.priority - b.item.priority || b.index - a.index)
    .map(entry => entry.item);
  let fitted = false;
  for (const item of order) {
    moved.add(item);
    if (fits(moved)) {
      fitted = true;
      break;
    }
  }
  if (!fitted) {
    return moved;
  }
  // Room left by a wide control may take back a narrower, more important one.
  for (const item of [...moved].reverse()) {
    moved.delete(item);
    if (!fits(moved)) {
      moved.add(item);
    }
  }
  return moved;
}

/** How many lines the visible children of a wrapping flex row take. */
function lineCount(bar: HTMLElement, ignore: ReadonlySet<Element>): number {
  const centres: number[] = [];
  let tolerance = Infinity;
  for (const child of Array.from(bar.children)) {
    if (ignore.has(child)) {
      continue;
    }
    const rect = child.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) {
      continue;
    }
    centres.push((rect.top + rect.bottom) / 2);
    tolerance = Math.min(tolerance, rect.height / 2);
  }
  centres.sort((a, b) => a - b);
  let lines = 0;
  let last = -Infinity;
  for (const centre of centres) {
    if (centre - last > tolerance) {
      lines++;
    }
    last = centre;
  }
  return lines;
}

interface IManaged extends IOverflowItem {
  /** Where the control lives in its toolbar row. */
  home: Comment;
  /** Its line in the panel while it is there. */
  line: HTMLElement;
  bar: HTMLElement;
}

export class OverflowMenu {
  constructor(trans: TranslationBundle, label = trans.__('More')) {
    this.node = el('span', 'lt-OverflowMenu');
    const id = `lt-overflow-${++nextId}`;
    this.button = el('button', 'jp-Button jp-mod-styled lt-MoreButton', '', {
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': id,
      title: trans.__('More actions and options')
    });
    this.button.append(
      label + ' ',
      el('span', 'lt-Caret', '▾', { 'aria-hidden': 'true' })
    );
    this.button.addEventListener('click', () => this.toggle());
    this.panel = el('div', 'lt-OverflowPanel', undefined, {
      id,
      role: 'group',
      'aria-label': label
    });
    this.panel.hidden = true;
    // The toolbar's controls that did not fit, in toolbar order, first.
    this._moved = el('div', 'lt-OverflowMoved');
    this.panel.append(this._moved);
    this.panel.addEventListener('keydown', this._onKey);
    this.button.addEventListener('keydown', this._onKey);
    // A button in the panel did its job: close (checkboxes keep it open).
    // The keyboard stays near: on "More", unless the action took the focus
    // elsewhere (a dialog, a search field); a button that hid itself
    // (Reset filters) has already dropped it.
    this.panel.addEventListener('click', event => {
      if ((event.target as HTMLElement).closest('button')) {
        const active = document.activeElement;
        this.close(false);
        if (
          !active ||
          active === document.body ||
          this.panel.contains(active)
        ) {
          this.button.focus();
        }
      }
    });
    this.node.append(this.button, this.panel);
  }

  readonly node: HTMLElement;
  readonly button: HTMLButtonElement;
  readonly panel: HTMLElement;

  get isOpen(): boolean {
    return !this.panel.hidden;
  }

  /** Put controls in the panel, one a line. */
  add(...items: HTMLElement[]): void {
    for (const item of items) {
      const line = el('div', 'lt-OverflowItem');
      line.append(item);
      this.panel.append(line);
    }
  }

  /**
   * Keep each of `bars` (wrapping flex rows) to one line: `items`, controls
   * in those rows, move into the panel when their row wraps. `ignore` are
   * children that take a line of their own by design (a status note). The
   * rows refit when their container resizes and when their content (or a
   * moved control) changes.
   */
  manage(
    bars: readonly HTMLElement[],
    items: readonly IOverflowItem[],
    ignore: readonly Element[] = []
  ): void {
    this._bars = [...bars];
    this._ignore = new Set(ignore);
    this._items = items.map(item => {
      const bar = bars.find(b => b.contains(item.node));
      if (!bar) {
        throw new Error('An overflow item must be in one of the rows');
      }
      const home = document.createComment('');
      item.node.before(home);
      return {
        ...item,
        home,
        bar,
        line: el('div', 'lt-OverflowItem')
      };
    });
    this._observer?.disconnect();
    this._mutations?.disconnect();
    // A narrower or wider pane, and any change of the rows' content (a
    // control shown or hidden, a label's count, a status message) refit.
    const container = bars[0]?.parentElement;
    if (container && typeof ResizeObserver !== 'undefined') {
      this._observer = new ResizeObserver(() => this.fit());
      this._observer.observe(container);
    }
    if (typeof MutationObserver !== 'undefined') {
      this._mutations = new MutationObserver(() => this.fit());
      for (const node of [...bars, this._moved]) {
        this._mutations.observe(node, {
          subtree: true,
          childList: true,
          characterData: true,
          attributes: true,
          attributeFilter: ['hidden', 'class', 'disabled']
        });
      }
    }
    this.fit();
  }

  /** Whether `node` is one of the controls moved into the panel. */
  holds(node: HTMLElement): boolean {
    return this._moved.contains(node);
  }

  /**
   * Focus a control where it is now: in its row, or (moved) the "More"
   * button that reaches it.
   */
  focus(node: HTMLElement): void {
    if (this.holds(node) && !this.isOpen) {
      this.button.focus();
    } else {
      node.focus();
    }
  }

  /** Lay the rows out again: move what does not fit, bring back what does. */
  fit(): void {
    const bars = this._bars;
    if (
      this._items.length === 0 ||
      bars.some(bar => !bar.isConnected || bar.getClientRects().length === 0)
    ) {
      return; // Not shown: fitted when it is (resize, show).
    }
    // Moving a node blurs it: keep the focus where it was.
    const focused = document.activeElement as HTMLElement | null;
    const moved = new Set<IManaged>();
    for (const bar of bars) {
      // Hidden controls take no room: they stay home.
      const items = this._items.filter(
        item => item.bar === bar && !item.node.hidden
      );
      const plan = planOverflow(items, out => {
        for (const item of items) {
          this._place(item, out.has(item));
        }
        return lineCount(bar, this._ignore) <= 1;
      });
      plan.forEach(item => moved.add(item));
    }
    for (const item of this._items) {
      this._place(item, moved.has(item));
    }
    // In toolbar order.
    this._moved.replaceChildren(
      ...this._items.filter(item => moved.has(item)).map(item => item.line)
    );
    if (focused && focused !== document.activeElement && focused.isConnected) {
      if (this.panel.contains(focused) && !this.isOpen) {
        this.button.focus();
      } else {
        focused.focus({ preventScroll: true });
      }
    }
    if (this.isOpen) {
      this._keepInView();
    }
    // The moves above are not news.
    this._mutations?.takeRecords();
  }

  dispose(): void {
    this._observer?.disconnect();
    this._observer = null;
    this._mutations?.disconnect();
    this._mutations = null;
    this.close(false);
  }

  toggle(): void {
    if (this.isOpen) {
      this.close(true);
    } else {
      this.open();
    }
  }

  open(): void {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', this._onOutside, true);
    this._keepInView();
    const first = this.panel.querySelector<HTMLElement>(
      'select:not(:disabled), button:not([hidden]):not(:disabled), input'
    );
    first?.focus();
  }

  /** Hide the panel (focus back on the button with `refocus`). */
  close(refocus: boolean): void {
    if (!this.isOpen) {
      return;
    }
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', this._onOutside, true);
    if (refocus) {
      this.button.focus();
    }
  }

  /** The panel hangs from the button's right edge; in a narrow pane it
   * would pass the pane's left edge: shift it back in. */
  private _keepInView(): void {
    this.panel.style.right = '';
    const bounds = this._bars[0]?.parentElement ?? this.node.parentElement;
    if (!bounds) {
      return;
    }
    const margin = 8;
    const over =
      bounds.getBoundingClientRect().left +
      margin -
      this.panel.getBoundingClientRect().left;
    if (over > 0) {
      this.panel.style.right = `${-over}px`;
    }
  }

  private _place(item: IManaged, inPanel: boolean): void {
    if (inPanel) {
      if (item.node.parentElement !== item.line) {
        item.line.append(item.node);
        if (!item.line.isConnected) {
          this._moved.append(item.line);
        }
      }
    } else if (item.node.previousSibling !== item.home) {
      item.home.after(item.node);
      item.line.remove();
    }
  }

  private _onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.isOpen) {
      event.preventDefault();
      event.stopPropagation();
      this.close(true);
    }
  };

  private _onOutside = (event: Event): void => {
    if (!this.node.contains(event.target as Node)) {
      this.close(false);
    }
  };

  private _moved: HTMLElement;
  private _bars: HTMLElement[] = [];
  private _items: IManaged[] = [];
  private _ignore: ReadonlySet<Element> = new Set();
  private _observer: ResizeObserver | null = null;
  private _mutations: MutationObserver | null = null;
}
