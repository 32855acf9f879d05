/**
 * The order Features are installed in: the spec's round-based algorithm ("Installation order" of the Features
 * reference), as the devcontainer CLI implements it. Each round takes every Feature whose hard (`dependsOn`) and
 * soft (`installsAfter`) dependencies are installed; of those only the ones with the highest round priority
 * (`overrideFeatureInstallOrder`: first entry highest); the round is sorted by reference for a stable result.
 * One deliberate difference: a Feature's priority is passed on to its hard dependencies, so an override never
 * installs a listed Feature's dependency after an unlisted Feature (devcontainers/cli issue #1200). Pure.
 */
import { DevenvError } from '../../errors.js';
import { matchesSoftReference } from './feature-reference.js';
import type { FeatureSource } from './feature-types.js';

/** One Feature in the graph. */
export interface OrderNode {
  /** Unique identity (content digest and option values); hard dependencies point at keys. */
  key: string;
  /** How messages name it (the reference as written). */
  label: string;
  source: FeatureSource;
  /** The Feature's id and legacyIds, for soft matches of renamed Features. */
  aliases: string[];
  /** Keys of the Features it depends on. */
  dependsOn: string[];
  /** Its `installsAfter` entries, parsed. */
  installsAfter: FeatureSource[];
  /** Sorts Features within a round (reference, then options). */
  sortKey: string;
}

/** The install order and anything worth a warning. */
export interface InstallOrder<N extends OrderNode> {
  order: N[];
  warnings: string[];
}

function compare(a: OrderNode, b: OrderNode): number {
  return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0;
}

/** A cycle among `remaining` (following unmet hard and soft edges), as labels `a → b → a`; undefined if none. */
function findCycle(remaining: OrderNode[], edges: Map<string, OrderNode[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: OrderNode[] = [];
  const visit = (node: OrderNode): string[] | undefined => {
    state.set(node.key, 'open');
    stack.push(node);
    for (const next of edges.get(node.key) ?? []) {
      const seen = state.get(next.key);
      if (seen === 'open') {
        const from = stack.findIndex((n) => n.key === next.key);
        return [...stack.slice(from), next].map((n) => n.label);
      }
      if (seen === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node.key, 'done');
    return undefined;
  };
  for (const node of [...remaining].sort(compare)) {
    if (state.has(node.key)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

/**
 * Order `nodes` for installation. `override` is overrideFeatureInstallOrder, parsed (entries matched like
 * installsAfter: by registry/repository, URL or path). Throws FEATURE_CYCLE naming the Features of a cycle.
 */
export function computeInstallOrder<N extends OrderNode>(nodes: readonly N[], override: readonly FeatureSource[] = []): InstallOrder<N> {
  const warnings: string[] = [];
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const satisfies = (node: OrderNode, soft: FeatureSource): boolean => matchesSoftReference(node.source, node.aliases, soft);

  // Soft dependencies on Features that are not installed at all do not count.
  const soft = new Map(nodes.map((n) => [n.key, n.installsAfter.filter((s) => nodes.some((other) => other.key !== n.key && satisfies(other, s)))]));

  const priority = new Map(nodes.map((n) => [n.key, 0]));
  override.forEach((entry, index) => {
    const value = override.length - index;
    const matching = nodes.filter((n) => satisfies(n, entry));
    if (matching.length === 0) warnings.push(`overrideFeatureInstallOrder: \`${entry.written}\` is not among the Features installed (ignored)`);
    for (const n of matching) priority.set(n.key, Math.max(priority.get(n.key) ?? 0, value));
  });
  // Pass priorities down to hard dependencies (transitively; bounded by the node count, cycles are caught later).
  for (let changed = true, rounds = 0; changed && rounds <= nodes.length; rounds += 1) {
    changed = false;
    for (const n of nodes) {
      for (const dep of n.dependsOn) {
        const mine = priority.get(n.key) ?? 0;
        if (byKey.has(dep) && (priority.get(dep) ?? 0) < mine) {
          priority.set(dep, mine);
          changed = true;
        }
      }
    }
  }

  const installed: N[] = [];
  const done = new Set<string>();
  let remaining = [...nodes];
  while (remaining.length > 0) {
    const eligible = remaining.filter(
      (n) => n.dependsOn.every((dep) => done.has(dep)) && (soft.get(n.key) ?? []).every((s) => installed.some((i) => satisfies(i, s))),
    );
    if (eligible.length === 0) {
      const edges = new Map<string, OrderNode[]>();
      for (const n of remaining) {
        const hard = n.dependsOn.filter((d) => !done.has(d)).map((d) => byKey.get(d)).filter((d): d is N => d !== undefined);
        const softNodes = (soft.get(n.key) ?? []).flatMap((s) => remaining.filter((r) => r.key !== n.key && satisfies(r, s)));
        edges.set(n.key, [...hard, ...softNodes]);
      }
      const cycle = findCycle(remaining, edges);
      const named = cycle ? cycle.map((l) => `\`${l}\``).join(' → ') : remaining.map((n) => `\`${n.label}\``).join(', ');
      throw new DevenvError('FEATURE_CYCLE', `Features depend on each other in a cycle: ${named}`, {
        hint: 'Break the cycle: remove one of these `dependsOn`/`installsAfter` entries, or one of the Features.',
      });
    }
    const top = Math.max(...eligible.map((n) => priority.get(n.key) ?? 0));
    const round = eligible.filter((n) => (priority.get(n.key) ?? 0) === top).sort(compare);
    for (const n of round) {
      installed.push(n);
      done.add(n.key);
    }
    remaining = remaining.filter((n) => !done.has(n.key));
  }
  return { order: installed, warnings };
}
