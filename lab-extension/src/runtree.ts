/**
 * Nested runs as a tree: MLflow marks a child run with the tag
 * `mlflow.parentRunId`. Pure functions (no DOM, no server), used by the
 * shared model and the runs table, unit-tested in `test/runtree.spec.ts`.
 */

import { IRun } from './protocol';

/** The tag holding a child run's parent run id. */
export const PARENT_TAG = 'mlflow.parentRunId';

/** How deep a tree is followed (a guard against long or broken chains). */
export const MAX_TREE_DEPTH = 32;

/** The parent run id of a run, or undefined for a top-level run. */
export function parentRunId(run: IRun): string | undefined {
  const value = run.data.tags?.find(t => t.key === PARENT_TAG)?.value;
  return value && value !== run.info.run_id ? value : undefined;
}

/** One run in the tree, with its (sorted) children. */
export interface IRunNode {
  readonly run: IRun;
  /** The run matches the filter (false: shown only for context). */
  readonly matched: boolean;
  readonly children: IRunNode[];
  /** A run below this one matches the filter. */
  readonly hasMatchedDescendant: boolean;
}

/** A visible row of the flattened tree. */
export interface ITreeRow {
  readonly run: IRun;
  /** 1 for a top-level run (ARIA `aria-level`). */
  readonly level: number;
  /** The parent row's run id (null at the top). */
  readonly parentId: string | null;
  /** Children in the tree (0: a leaf). */
  readonly childCount: number;
  readonly expanded: boolean;
  readonly matched: boolean;
  /** Position among its siblings (1-based) and their number (ARIA). */
  readonly posInSet: number;
  readonly setSize: number;
}

export interface IBuildTreeOptions {
  /** Runs shown for context only (parents of matches, children of matches). */
  context?: readonly IRun[];
  /** Sibling order; without it the input order is kept. */
  compare?: (a: IRun, b: IRun) => number;
}

/**
 * Build the forest of `runs` (the matches) and `context` runs: a run whose
 * parent is present goes under it, any other run is a root. Sorting applies
 * among siblings, so a sort never tears a child from its parent. A cycle
 * (a broken store) is cut: the run where it closes becomes a root.
 */
export function buildRunTree(
  runs: readonly IRun[],
  options: IBuildTreeOptions = {}
): IRunNode[] {
  const matched = new Set(runs.map(r => r.info.run_id));
  const byId = new Map<string, IRun>();
  const order: IRun[] = [];
  for (const run of [...runs, ...(options.context ?? [])]) {
    if (!byId.has(run.info.run_id)) {
      byId.set(run.info.run_id, run);
      order.push(run);
    }
  }
  // The parent each run hangs under (only when it is present and no cycle).
  const parentOf = new Map<string, string>();
  for (const run of order) {
    const parent = parentRunId(run);
    if (parent && byId.has(parent)) {
      parentOf.set(run.info.run_id, parent);
    }
  }
  for (const run of order) {
    const id = run.info.run_id;
    const seen = new Set<string>([id]);
    let current = parentOf.get(id);
    let depth = 0;
    while (current !== undefined) {
      if (seen.has(current) || ++depth > MAX_TREE_DEPTH) {
        parentOf.delete(id);
        break;
      }
      seen.add(current);
      current = parentOf.get(current);
    }
  }
  const childrenOf = new Map<string, IRun[]>();
  const roots: IRun[] = [];
  for (const run of order) {
    const parent = parentOf.get(run.info.run_id);
    if (parent === undefined) {
      roots.push(run);
    } else {
      let list = childrenOf.get(parent);
      if (!list) {
        list = [];
        childrenOf.set(parent, list);
      }
      list.push(run);
    }
  }
  const compare = options.compare;
  const make = (run: IRun): IRunNode => {
    const kids = [...(childrenOf.get(run.info.run_id) ?? [])];
    if (compare) {
      kids.sort(compare);
    }
    const children = kids.map(make);
    return {
      run,
      matched: matched.has(run.info.run_id),
      children,
      hasMatchedDescendant: children.some(
        c => c.matched || c.hasMatchedDescendant
      )
    };
  };
  const sortedRoots = compare ? [...roots].sort(compare) : roots;
  return sortedRoots.map(make);
}

/**
 * Whether a parent starts expanded: with a filter, a parent opens when a run
 * below it matches or it has context children (so matches show in place);
 * without a filter every parent starts collapsed.
 */
export function defaultExpanded(node: IRunNode, filtered: boolean): boolean {
  if (node.children.length === 0) {
    return false;
  }
  if (node.children.some(c => !c.matched)) {
    return true;
  }
  return filtered && node.hasMatchedDescendant;
}

/**
 * The visible rows of a forest, depth first. `expanded` holds the user's
 * choices (run id -> expanded); other parents use `defaultExpanded`.
 */
export function flattenTree(
  nodes: readonly IRunNode[],
  expanded: ReadonlyMap<string, boolean>,
  filtered: boolean
): ITreeRow[] {
  const rows: ITreeRow[] = [];
  const walk = (
    list: readonly IRunNode[],
    level: number,
    parentId: string | null
  ) => {
    list.forEach((node, index) => {
      const id = node.run.info.run_id;
      const open =
        node.children.length > 0 &&
        (expanded.get(id) ?? defaultExpanded(node, filtered));
      rows.push({
        run: node.run,
        level,
        parentId,
        childCount: node.children.length,
        expanded: open,
        matched: node.matched,
        posInSet: index + 1,
        setSize: list.length
      });
      if (open) {
        walk(node.children, level + 1, id);
      }
    });
  };
  walk(nodes, 1, null);
  return rows;
}

/**
 * The parent ids referenced by `runs` that are not among `known`: what to
 * fetch so every listed child can be shown under its parent.
 */
export function missingParentIds(
  runs: readonly IRun[],
  known: ReadonlySet<string>
): string[] {
  const missing = new Set<string>();
  for (const run of runs) {
    const parent = parentRunId(run);
    if (parent && !known.has(parent)) {
      missing.add(parent);
    }
  }
  return [...missing];
}

/** An MLflow search string literal (single quotes, escaped). */
export function quoteFilterValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
