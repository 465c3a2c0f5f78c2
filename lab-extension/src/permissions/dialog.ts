/**
 * The permissions dialog of an experiment or a registered model (team mode):
 * the grants (users and hub groups with their level), the caller's own level
 * and the default. A MANAGE holder (or a hub admin) grants a user or a group
 * a level, changes a level in place and revokes; everyone else sees the same
 * listing read-only, so they know whom to ask. A refused change shows the
 * server's reason above the table. It renders a `PermissionsModel` only.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { button, el } from '../dom';
import {
  GranteeKind,
  IEffectiveLevel,
  IGrant,
  IPermissionResource,
  IPermissionsAPI,
  PermissionLevel
} from './protocol';
import { PermissionsModel, granteeProblem } from './model';

let bodyCount = 0;

/** A level's name as shown, with what it allows. */
export function levelLabel(
  level: PermissionLevel,
  trans: TranslationBundle
): string {
  switch (level) {
    case 'NO_PERMISSIONS':
      return trans.__('No access');
    case 'READ':
      return trans.__('Read');
    case 'USE':
      return trans.__('Use');
    case 'EDIT':
      return trans.__('Edit');
    case 'MANAGE':
      return trans.__('Manage');
  }
}

function levelHelp(level: PermissionLevel, trans: TranslationBundle): string {
  switch (level) {
    case 'NO_PERMISSIONS':
      return trans.__('cannot see it');
    case 'READ':
      return trans.__('views it');
    case 'USE':
      return trans.__('views it, uses its models');
    case 'EDIT':
      return trans.__('changes it, logs runs');
    case 'MANAGE':
      return trans.__('deletes it, manages permissions');
  }
}

/** Where a level comes from, as shown ("via group team", "team default"). */
export function sourceLabel(
  effective: IEffectiveLevel,
  trans: TranslationBundle
): string {
  switch (effective.source) {
    case 'admin':
      return trans.__('hub admin');
    case 'direct':
      return trans.__('own grant');
    case 'group':
      return trans.__('via group %1', effective.group ?? '');
    case 'default':
      return trans.__('team default');
  }
}

/** The dialog's body: renders the model, forwards changes to it. */
export class PermissionsBody extends Widget {
  constructor(model: PermissionsModel, trans: TranslationBundle) {
    super();
    this._model = model;
    this._trans = trans;
    this._prefix = `lt-permissions-${++bodyCount}`;
    this.addClass('lt-Permissions');
    this._summary = el('p', 'lt-PermissionsSummary', undefined, {
      'aria-live': 'polite'
    });
    this._error = el('div', 'lt-error lt-PermissionsError', undefined, {
      role: 'alert'
    });
    this._table = el('table', 'lt-PermissionsTable', undefined, {
      'aria-label': trans.__('Who has access to %1', model.resource.name),
      tabindex: '-1'
    });
    this._form = this._createForm();
    this.node.append(this._summary, this._error, this._table, this._form);
    model.changed.connect(this._render, this);
    this._render();
  }

  get model(): PermissionsModel {
    return this._model;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    // Before the dialog's own (capture) listener, which closes it on Enter
    // in any input or select: Enter in the grant form grants instead.
    window.addEventListener('keydown', this, true);
  }

  protected onBeforeDetach(msg: Message): void {
    window.removeEventListener('keydown', this, true);
    super.onBeforeDetach(msg);
  }

  handleEvent(event: Event): void {
    const key = event as KeyboardEvent;
    const target = event.target as HTMLElement | null;
    if (
      event.type !== 'keydown' ||
      key.key !== 'Enter' ||
      !target ||
      !this.node.contains(target) ||
      !(
        target instanceof HTMLInputElement ||
        target instanceof HTMLSelectElement
      )
    ) {
      return;
    }
    event.stopPropagation();
    event.preventDefault();
    if (this._form.contains(target)) {
      void this._submit();
    }
  }

  private _createForm(): HTMLFormElement {
    const trans = this._trans;
    const form = el('form', 'lt-PermissionsGrant', undefined, {
      'aria-labelledby': `${this._prefix}-grant-heading`
    });
    this._kind = el('select', 'jp-mod-styled lt-GrantKind', undefined, {
      id: `${this._prefix}-kind`
    });
    this._kind.append(
      el('option', '', trans.__('User'), { value: 'user' }),
      el('option', '', trans.__('Hub group'), { value: 'group' })
    );
    this._name = el('input', 'jp-mod-styled lt-GrantName', undefined, {
      id: `${this._prefix}-name`,
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: trans.__('hub user name'),
      list: `${this._prefix}-names`,
      'aria-describedby': `${this._prefix}-hint`
    });
    // The hub's names as one types (the browser's own suggestion list).
    this._names = el('datalist', 'lt-GrantNames', undefined, {
      id: `${this._prefix}-names`
    });
    this._kind.addEventListener('change', () => {
      this._name.placeholder =
        this._kind.value === 'group'
          ? trans.__('hub group name')
          : trans.__('hub user name');
      this._suggestSoon();
    });
    this._name.addEventListener('input', () => {
      this._setHint('');
      this._suggestSoon();
    });
    this._level = el('select', 'jp-mod-styled lt-GrantLevel', undefined, {
      id: `${this._prefix}-level`
    });
    this._grantButton = button(
      trans.__('Grant'),
      () => void this._submit(),
      'jp-mod-accept lt-GrantButton'
    );
    this._hint = el('span', 'lt-PermissionsHint', '', {
      id: `${this._prefix}-hint`,
      'aria-live': 'polite'
    });
    const field = (label: string, control: HTMLElement) => {
      const row = el('div', 'lt-GrantField');
      row.append(el('label', '', label, { for: control.id }), control);
      return row;
    };
    const fields = el('div', 'lt-GrantFields');
    fields.append(
      field(trans.__('Grantee'), this._kind),
      field(trans.__('Name'), this._name),
      this._names,
      field(trans.__('Level'), this._level),
      this._grantButton
    );
    form.append(
      el('h3', 'lt-SectionHeading', trans.__('Grant access'), {
        id: `${this._prefix}-grant-heading`
      }),
      fields,
      this._hint
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this._submit();
    });
    return form;
  }

  private async _submit(): Promise<void> {
    const trans = this._trans;
    if (this._model.busy) {
      return;
    }
    const problem = granteeProblem(this._name.value);
    if (problem) {
      this._setHint(
        problem === 'empty'
          ? trans.__('Type a hub user or group name.')
          : trans.__('A hub name has no spaces.')
      );
      this._name.focus();
      return;
    }
    const kind = this._kind.value as GranteeKind;
    const name = this._name.value.trim();
    const done = await this._model.grantNew(
      kind,
      name,
      this._level.value as PermissionLevel
    );
    if (done === 'granted') {
      this._name.value = '';
    } else if (done === 'unknown') {
      this._setHint(
        kind === 'group'
          ? trans.__('“%1” is not a hub group: nothing was granted.', name)
          : trans.__('“%1” is not a hub user: nothing was granted.', name)
      );
    }
    this._name.focus();
  }

  private _suggestSoon(): void {
    if (this._suggestTimer !== null) {
      window.clearTimeout(this._suggestTimer);
    }
    this._suggestTimer = window.setTimeout(() => {
      this._suggestTimer = null;
      void this._model.suggest(
        this._kind.value as GranteeKind,
        this._name.value
      );
    }, 150);
  }

  private _renderSuggestions(): void {
    const names = this._model.suggestions;
    const shown = Array.from(this._names.options).map(o => o.value);
    if (
      shown.length === names.length &&
      shown.every((name, i) => name === names[i])
    ) {
      return; // unchanged: leave the open list alone
    }
    this._names.replaceChildren(
      ...names.map(name => el('option', '', undefined, { value: name }))
    );
  }

  private _setHint(text: string): void {
    this._hint.textContent = text;
    this._name.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  private _render(): void {
    const model = this._model;
    const trans = this._trans;
    const state = model.state;
    const hadFocus = this.node.contains(document.activeElement);
    const focused = this._focusedControl();

    if (!model.loaded) {
      this._summary.textContent = state.error
        ? ''
        : trans.__('Loading permissions…');
    } else {
      const source = model.mySource;
      const mine = source
        ? trans.__(
            '%1 (%2)',
            levelLabel(model.myLevel!, trans),
            sourceLabel(source, trans)
          )
        : levelLabel(model.myLevel!, trans);
      const fallback = levelLabel(model.defaultLevel!, trans);
      this._summary.textContent = model.canManage
        ? trans.__(
            'Your level: %1. Team members without a grant: %2.',
            mine,
            fallback
          )
        : trans.__(
            'Your level: %1; only Manage changes permissions. Team members without a grant: %2.',
            mine,
            fallback
          );
    }

    this._error.replaceChildren();
    const error = model.actionError ?? state.error;
    if (error) {
      const title =
        error.errorCode === 'PERMISSION_DENIED'
          ? trans.__('Not allowed')
          : model.actionError
            ? trans.__('The change was not made')
            : trans.__('Could not load the permissions');
      this._error.append(
        el('p', 'lt-ErrorTitle', title),
        el('p', 'lt-ErrorMessage', error.message)
      );
    }
    this._error.hidden = !error;

    this._renderTable();
    this._renderLevels();
    this._renderSuggestions();
    this._form.hidden = !model.canManage;
    // Nothing is disabled while a change is in flight (a disabled control
    // drops the focus): the model ignores a second change meanwhile.
    this.node.setAttribute('aria-busy', model.busy ? 'true' : 'false');
    if (model.loaded && model.canManage && !this._focused) {
      // The form appears with the first listing: start typing a name there.
      this._focused = true;
      requestAnimationFrame(() => this._name.focus());
    } else if (focused !== null) {
      // The rows were rebuilt under the focus: back to the same control of
      // the same grantee, or (the row is gone) to the table.
      const again = this._table.querySelector<HTMLElement>(focused);
      (again ?? this._table).focus();
    } else if (hadFocus) {
      // The form went away under the focus (the caller lost MANAGE): keep
      // the keyboard in the dialog, so Escape still closes it.
      const active = document.activeElement;
      if (
        !this.node.contains(active) ||
        (this._form.hidden && this._form.contains(active))
      ) {
        this._table.focus();
      }
    }
  }

  /** A selector of the focused control in the table, or null. */
  private _focusedControl(): string | null {
    const active = document.activeElement as HTMLElement | null;
    if (!active || !this._table.contains(active)) {
      return null;
    }
    const row = active.closest<HTMLElement>('.lt-GrantRow');
    if (!row || active.tagName === 'TABLE') {
      return null;
    }
    const kind = CSS.escape(row.dataset.granteeKind ?? '');
    const grantee = CSS.escape(row.dataset.grantee ?? '');
    const control = active.classList.contains('lt-RowLevel')
      ? '.lt-RowLevel'
      : '.lt-RevokeGrant';
    return `.lt-GrantRow[data-grantee-kind="${kind}"][data-grantee="${grantee}"] ${control}`;
  }

  private _renderLevels(): void {
    const trans = this._trans;
    const current = this._level.value;
    const levels = this._model.grantableLevels;
    this._level.replaceChildren(
      ...levels.map(level =>
        el(
          'option',
          '',
          `${levelLabel(level, trans)} — ${levelHelp(level, trans)}`,
          { value: level }
        )
      )
    );
    this._level.value = levels.includes(current as PermissionLevel)
      ? current
      : levels.includes('READ')
        ? 'READ'
        : (levels[0] ?? '');
  }

  private _renderTable(): void {
    const model = this._model;
    const trans = this._trans;
    const head = el('tr');
    head.append(
      el('th', '', trans.__('Who'), { scope: 'col' }),
      el('th', '', trans.__('Kind'), { scope: 'col' }),
      el('th', '', trans.__('Granted'), { scope: 'col' }),
      el('th', '', trans.__('In effect'), { scope: 'col' })
    );
    if (model.canManage) {
      const actions = el('th', '', undefined, { scope: 'col' });
      actions.append(el('span', 'lt-VisuallyHidden', trans.__('Actions')));
      head.append(actions);
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    if (model.loaded && model.grants.length === 0) {
      const row = el('tr');
      row.append(
        el(
          'td',
          'lt-Empty',
          trans.__('No grants: every team member has the default level.'),
          { colspan: model.canManage ? '5' : '4' }
        )
      );
      tbody.append(row);
    }
    for (const grant of model.grants) {
      tbody.append(this._row(grant));
    }
    this._table.replaceChildren(thead, tbody);
  }

  private _row(grant: IGrant): HTMLElement {
    const model = this._model;
    const trans = this._trans;
    const row = el('tr', 'lt-GrantRow', undefined, {
      'data-grantee': grant.grantee,
      'data-grantee-kind': grant.grantee_kind,
      'data-permission': grant.permission
    });
    const who = el('td', 'lt-Grantee', grant.grantee);
    if (model.isMine(grant)) {
      who.append(el('span', 'lt-GranteeYou', ` ${trans.__('(you)')}`));
    }
    if (grant.hub_user === false) {
      who.append(
        el('span', 'lt-GranteeUnknown', ` ${trans.__('(not a hub user)')}`)
      );
    }
    const kind = el(
      'td',
      'lt-GranteeKind',
      grant.grantee_kind === 'user' ? trans.__('User') : trans.__('Hub group')
    );
    const level = el('td', 'lt-GrantLevelCell');
    const levels = model.grantableLevels;
    if (model.canManage && levels.includes(grant.permission)) {
      const select = el('select', 'jp-mod-styled lt-RowLevel', undefined, {
        'aria-label': trans.__('Level of %1', grant.grantee)
      });
      for (const option of levels) {
        select.append(
          el('option', '', levelLabel(option, trans), { value: option })
        );
      }
      select.value = grant.permission;
      select.addEventListener('change', () => {
        void model.grant(
          grant.grantee_kind,
          grant.grantee,
          select.value as PermissionLevel
        );
      });
      level.append(select);
    } else {
      level.textContent = levelLabel(grant.permission, trans);
    }
    row.append(who, kind, level, this._effectiveCell(grant));
    if (model.canManage) {
      const actions = el('td', 'lt-GrantActions');
      const revoke = button(
        trans.__('Revoke'),
        () => void model.revoke(grant.grantee_kind, grant.grantee),
        'lt-RevokeGrant',
        { 'aria-label': trans.__('Revoke the grant of %1', grant.grantee) }
      );
      actions.append(revoke);
      row.append(actions);
    }
    return row;
  }

  /** What the grantee holds in effect and why, as the service computed it. */
  private _effectiveCell(grant: IGrant): HTMLElement {
    const trans = this._trans;
    const effective = grant.effective;
    const cell = el('td', 'lt-EffectiveLevel');
    if (!effective) {
      cell.textContent = '—';
      cell.title = trans.__(
        'Only those who manage permissions see what others hold through their groups.'
      );
      return cell;
    }
    cell.dataset.permission = effective.permission;
    cell.dataset.source = effective.source;
    const lifted =
      grant.grantee_kind === 'user' &&
      effective.permission !== grant.permission;
    cell.append(
      el(
        'span',
        lifted ? 'lt-EffectiveName lt-mod-lifted' : 'lt-EffectiveName',
        levelLabel(effective.permission, trans)
      ),
      el('span', 'lt-EffectiveSource', sourceLabel(effective, trans))
    );
    return cell;
  }

  private _model: PermissionsModel;
  private _trans: TranslationBundle;
  private _prefix: string;
  private _summary: HTMLElement;
  private _error: HTMLElement;
  private _table: HTMLTableElement;
  private _form: HTMLFormElement;
  private _kind!: HTMLSelectElement;
  private _name!: HTMLInputElement;
  private _level!: HTMLSelectElement;
  private _grantButton!: HTMLButtonElement;
  private _hint!: HTMLElement;
  private _names!: HTMLDataListElement;
  private _suggestTimer: number | null = null;
  private _focused = false;
}

export interface IPermissionsDialogOptions {
  api: IPermissionsAPI;
  resource: IPermissionResource;
  /** The signed-in user (their own grant is marked). */
  me: string | null;
  trans: TranslationBundle;
}

/** Open the dialog; resolves when it is closed. */
export async function showPermissionsDialog(
  options: IPermissionsDialogOptions
): Promise<void> {
  const { trans, resource } = options;
  const model = new PermissionsModel({
    api: options.api,
    resource,
    me: options.me
  });
  const body = new PermissionsBody(model, trans);
  void model.load();
  try {
    await showDialog({
      title:
        resource.type === 'experiment'
          ? trans.__('Permissions of experiment “%1”', resource.name)
          : trans.__('Permissions of model “%1”', resource.name),
      body,
      buttons: [Dialog.cancelButton({ label: trans.__('Close') })],
      hasClose: true
    });
  } finally {
    model.dispose();
  }
}
