import { badRequest } from '../errors.js';

/** A flow request's job as the graph sees it: its ref and what it depends on (refs, or ids of existing jobs). */
export interface FlowNodeInput {
  ref: string;
  dependsOn?: readonly (string | number)[];
}

export interface FlowPlan {
  /** Request positions in an order where every job comes after the jobs of the request it depends on. */
  order: number[];
  /** For each request position: the request positions of its parents in the flow, and the ids of existing ones. */
  refs: number[][];
  ids: number[][];
}

/**
 * Checks a flow request's graph and orders it (pure; no database): refs are unique, every ref a job depends on is
 * one of the request's, and there is no cycle. Each problem is a 400 naming it: the duplicate ref, the unknown ref
 * (`jobs.2.dependsOn.0`), or the refs of a cycle in order (`a → b → a`). The order is Kahn's, taking the earliest
 * request position first among jobs whose parents are placed, so a request already in order keeps it.
 */
export function planFlow(jobs: readonly FlowNodeInput[]): FlowPlan {
  const position = new Map<string, number>();
  jobs.forEach((j, i) => {
    const first = position.get(j.ref);
    if (first !== undefined) throw badRequest(`jobs.${i}.ref`, `'${j.ref}' is also the ref of jobs.${first}`);
    position.set(j.ref, i);
  });
  const refs: number[][] = [];
  const ids: number[][] = [];
  jobs.forEach((j, i) => {
    const mine: number[] = [];
    const existing: number[] = [];
    (j.dependsOn ?? []).forEach((d, k) => {
      if (typeof d === 'number') {
        existing.push(d);
        return;
      }
      const p = position.get(d);
      if (p === undefined)
        throw badRequest(`jobs.${i}.dependsOn.${k}`, `no job with ref '${d}' in this flow`);
      mine.push(p);
    });
    refs.push(mine);
    ids.push(existing);
  });

  const children: number[][] = jobs.map(() => []);
  const pending = refs.map((r) => r.length);
  refs.forEach((r, i) => {
    for (const p of r) children[p]!.push(i);
  });
  // A min-heap would order ties in O(log n); the flows are at most 1,000 jobs, and a sorted insert is plain.
  const ready = pending.flatMap((n, i) => (n === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    const next = ready.shift()!;
    order.push(next);
    for (const c of children[next]!) {
      if (--pending[c]! === 0) {
        const at = ready.findIndex((x) => x > c);
        ready.splice(at === -1 ? ready.length : at, 0, c);
      }
    }
  }
  if (order.length < jobs.length) {
    const cycle = findCycle(refs, new Set(order));
    throw badRequest('jobs', `dependsOn forms a cycle: ${cycle.map((i) => jobs[i]!.ref).join(' → ')}`);
  }
  return { order, refs, ids };
}

/**
 * A cycle among the jobs not placed (each of them is on a cycle or below one), as positions, first repeated at the
 * end: walk parents from any unplaced job until a job repeats.
 */
function findCycle(refs: number[][], placed: Set<number>): number[] {
  let at = refs.findIndex((_, i) => !placed.has(i));
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    // An unplaced job has at least one unplaced parent (else it would have been placed).
    at = refs[at]!.find((p) => !placed.has(p))!;
  }
  // path walks child → parent; print the cycle parent → child, the way dependsOn reads "runs after".
  return [...path.slice(seen.get(at)!), at].reverse();
}
