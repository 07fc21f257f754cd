/**
 * The page's queue of images to make: one runs at a time, the rest wait visibly and can be
 * cancelled one by one. Knows nothing of the DOM or the worker: `run` does the work.
 */
import type { GenerationParams } from '../shared/params.js';

export interface QueuedJob {
  id: string;
  /** Jobs queued by one press of Generate share a batch. */
  batch: number;
  /** 1-based position in its batch, and the batch's size. */
  index: number;
  count: number;
  params: GenerationParams;
  status: 'queued' | 'running';
}

export type RunJob = (job: QueuedJob, signal: AbortSignal) => Promise<void>;

export class JobQueue {
  private readonly jobs: QueuedJob[] = [];
  private running: { job: QueuedJob; controller: AbortController } | null = null;
  private batches = 0;
  private ids = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly run: RunJob) {}

  /** Queues one job per params entry (one batch); starts at once when idle. */
  add(params: GenerationParams[]): QueuedJob[] {
    const batch = ++this.batches;
    const added = params.map((p, i) => ({ id: `q${++this.ids}`, batch, index: i + 1, count: params.length, params: p, status: 'queued' as const }));
    this.jobs.push(...added);
    this.changed();
    void this.pump();
    return added;
  }

  /** Every job, the running one first. */
  list(): readonly QueuedJob[] {
    return this.running ? [this.running.job, ...this.jobs] : [...this.jobs];
  }

  get busy(): boolean {
    return this.running !== null || this.jobs.length > 0;
  }

  /** Cancels a job: a queued one leaves the queue, the running one is aborted. */
  cancel(id: string): void {
    if (this.running?.job.id === id) {
      this.running.controller.abort();
      return;
    }
    const i = this.jobs.findIndex((j) => j.id === id);
    if (i >= 0) {
      this.jobs.splice(i, 1);
      this.changed();
    }
  }

  /** Cancels the running job only (the Cancel button). */
  cancelRunning(): void {
    this.running?.controller.abort();
  }

  /** Drops the queued jobs of a batch (after one of them failed on its parameters). */
  dropBatch(batch: number): void {
    const before = this.jobs.length;
    for (let i = this.jobs.length - 1; i >= 0; i--) if (this.jobs[i]!.batch === batch) this.jobs.splice(i, 1);
    if (this.jobs.length !== before) this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const next = this.jobs.shift();
    if (!next) return;
    const job: QueuedJob = { ...next, status: 'running' };
    this.running = { job, controller: new AbortController() };
    this.changed();
    try {
      await this.run(job, this.running.controller.signal);
    } catch {
      // run reports its own errors; the queue goes on.
    } finally {
      this.running = null;
      this.changed();
      void this.pump();
    }
  }
}
