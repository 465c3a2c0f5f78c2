/**
 * A toolbar's overflow: a "More" disclosure button and the panel of the
 * less used controls it shows (the runs toolbar keeps to two rows). The
 * controls stay ordinary buttons and checkboxes in the tab order; Escape
 * or a click elsewhere closes the panel and focus returns to the button.
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { el } from './dom';

let nextId = 0;

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
    this.panel.addEventListener('keydown', this._onKey);
    this.button.addEventListener('keydown', this._onKey);
    // A button in the panel did its job: close (checkboxes keep it open).
    this.panel.addEventListener('click', event => {
      if ((event.target as HTMLElement).closest('button')) {
        this.close(false);
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
    const first = this.panel.querySelector<HTMLElement>(
      'select, button:not([hidden]):not(:disabled), input'
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
}
