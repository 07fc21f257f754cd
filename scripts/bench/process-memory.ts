/**
 * Memory of a process tree on Linux: the proportional set size (PSS, shared pages counted once
 * across processes) of every descendant of a pid, read from /proc. Used on the browser Playwright starts.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function descendantsPss(rootPid: number): number {
  const children = new Map<number, number[]>();
  const pss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const pid = Number(name);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      const rollup = readFileSync(`/proc/${name}/smaps_rollup`, 'utf8');
      pss.set(pid, Number(rollup.match(/^Pss:\s+(\d+)/m)?.[1] ?? 0) * 1024);
    } catch {
      /* the process is gone */
    }
  }
  let total = 0;
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    total += pss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

/** Samples descendantsPss every `everyMs` until stopped; returns the peak. */
export function samplePeak(rootPid: number, everyMs = 150): { stop(): number; peak(): number } {
  let peak = descendantsPss(rootPid);
  const timer = setInterval(() => (peak = Math.max(peak, descendantsPss(rootPid))), everyMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, descendantsPss(rootPid));
      return peak;
    },
  };
}
