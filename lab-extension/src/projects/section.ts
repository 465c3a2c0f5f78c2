/**
 * The run page's "Project" section for a project run: the entry point, the
 * parameters it ran with, the git commit and env manager, the reason a run
 * failed before its command started, and "Run again" (the same dialog, with
 * the same inputs).
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { button, el } from '../dom';
import { IRun } from '../protocol';
import { IProjectInputs, PROJECT_TAGS, projectInputs, tagOf } from './params';

/** Set by the projects plugin: opens the "Run project" dialog pre-filled. */
let runAgainHandler: ((inputs: IProjectInputs) => void) | null = null;

export function setRunAgainHandler(
  handler: ((inputs: IProjectInputs) => void) | null
): void {
  runAgainHandler = handler;
}

export class ProjectSection {
  constructor(private _trans: TranslationBundle) {
    this.node = el('section', 'lt-Section lt-ProjectSection', undefined, {
      'aria-label': _trans.__('Project')
    });
  }

  readonly node: HTMLElement;

  render(run: IRun): void {
    const trans = this._trans;
    const inputs = projectInputs(run);
    const source = tagOf(run, PROJECT_TAGS.sourceName);
    if (tagOf(run, PROJECT_TAGS.sourceType) !== 'PROJECT') {
      this.node.hidden = true;
      this.node.replaceChildren();
      return;
    }
    this.node.hidden = false;
    const header = el('div', 'lt-SectionHeader');
    header.append(el('h3', 'lt-SectionHeading', trans.__('Project')));
    if (inputs && runAgainHandler) {
      const handler = runAgainHandler;
      header.append(
        el('span', 'lt-Spacer'),
        button(trans.__('Run again'), () => handler(inputs), 'lt-RunAgain', {
          title: trans.__('Open the Run Project dialog with this run’s inputs')
        })
      );
    }
    const list = el('table', 'lt-KVTable lt-ProjectFacts', undefined, {
      'aria-label': trans.__('Project')
    });
    const body = el('tbody');
    list.append(body);
    const add = (label: string, value: string | undefined, cls = '') => {
      if (value) {
        const tr = el('tr');
        tr.append(el('th', '', label, { scope: 'row' }), el('td', cls, value));
        body.append(tr);
      }
    };
    add(trans.__('Entry point'), tagOf(run, PROJECT_TAGS.entryPoint));
    add(trans.__('Source'), inputs?.path ?? source);
    add(
      trans.__('Git commit'),
      tagOf(run, PROJECT_TAGS.gitCommit),
      'lt-ProjectValue'
    );
    add(trans.__('Environment'), tagOf(run, PROJECT_TAGS.env));
    const params = run.data.params ?? [];
    add(
      trans.__('Parameters'),
      params.length
        ? params.map(p => `${p.key}=${p.value}`).join('  ')
        : trans.__('none'),
      'lt-ProjectValue'
    );
    const children: HTMLElement[] = [header, list];
    const error = tagOf(run, PROJECT_TAGS.error);
    if (error) {
      const box = el('div', 'lt-error', undefined, { role: 'alert' });
      box.append(
        el(
          'p',
          'lt-ErrorTitle',
          trans.__('The project failed before its command started')
        ),
        el('pre', 'lt-ProjectError', error)
      );
      children.push(box);
    }
    this.node.replaceChildren(...children);
  }
}
