/**
 * FlowMatchEulerDiscreteScheduler as SD3/SD3.5 use it (contract §2), as pure functions:
 * a schedule is built once for N steps; a step is a function of (schedule, index, sample, velocity).
 */

export interface SchedulerConfig {
  numTrainTimesteps: number; // 1000
  shift: number; // 3.0
}

export interface Schedule {
  /** N + 1 sigmas, float32 values, the last one the appended terminal 0. */
  readonly sigmas: Float32Array;
  /** N timesteps = sigma * numTrainTimesteps (float32): what the transformer's `timestep` input gets. */
  readonly timesteps: Float32Array;
  /** Index of the first step to run (0 for text to image; img2img starts later). */
  readonly startIndex: number;
}

const f32 = Math.fround;

/** The time shift σ' = shift·s / (1 + (shift − 1)·s). */
export function shiftSigma(s: number, shift: number): number {
  return (shift * s) / (1 + (shift - 1) * s);
}

/**
 * Builds the schedule exactly as diffusers' `set_timesteps(N)` (contract §2.2): linspace between the
 * shifted training extremes (float32), divided by 1000, shifted a second time, float32, terminal 0.
 */
export function buildSchedule(steps: number, config: SchedulerConfig): Schedule {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const T = config.numTrainTimesteps;
  // __init__: training sigmas k/T for k = T..1 (float32), shifted once (float32 tensor math).
  const sigmaMax = f32(shiftSigma(f32(T / T), config.shift));
  const sigmaMin = f32(shiftSigma(f32(1 / T), config.shift));
  const tMax = f32(sigmaMax * T);
  const tMin = f32(sigmaMin * T);
  const sigmas = new Float32Array(steps + 1);
  const timesteps = new Float32Array(steps);
  for (let i = 0; i < steps; i++) {
    // numpy.linspace in float64: start + i * (stop - start) / (num - 1), last point exact.
    const t = steps === 1 ? tMax : i === steps - 1 ? tMin : tMax + (i * (tMin - tMax)) / (steps - 1);
    const sigma = f32(shiftSigma(t / T, config.shift));
    sigmas[i] = sigma;
    timesteps[i] = f32(sigma * T);
  }
  sigmas[steps] = 0;
  return { sigmas, timesteps, startIndex: 0 };
}

/**
 * img2img start (contract §2.5, diffusers `get_timesteps`): init = min(N·strength, N),
 * t_start = int(max(N − init, 0)) with the same float64 arithmetic; the schedule then starts there.
 */
export function img2imgStartIndex(steps: number, strength: number): number {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${strength}`);
  const initTimestep = Math.min(steps * strength, steps);
  return Math.trunc(Math.max(steps - initTimestep, 0));
}

export function withStart(schedule: Schedule, startIndex: number): Schedule {
  return { ...schedule, startIndex };
}

/** Number of transformer evaluations (steps) a schedule runs. */
export function stepCount(schedule: Schedule): number {
  return schedule.timesteps.length - schedule.startIndex;
}

/**
 * One Euler step x_{i+1} = x_i + (σ_{i+1} − σ_i)·v_i, float32, written into `out` (may alias `sample`).
 */
export function eulerStep(
  schedule: Schedule,
  index: number,
  sample: Float32Array,
  velocity: Float32Array,
  out: Float32Array = new Float32Array(sample.length),
): Float32Array {
  const s0 = schedule.sigmas[index];
  const s1 = schedule.sigmas[index + 1];
  if (s0 === undefined || s1 === undefined) throw new RangeError(`step index ${index} outside the schedule`);
  if (velocity.length !== sample.length) throw new RangeError('velocity and sample differ in length');
  const dt = f32(s1 - s0);
  for (let k = 0; k < sample.length; k++) out[k] = sample[k]! + dt * velocity[k]!;
  return out;
}

/** Flow-matching forward noising (`scale_noise`): x = σ·ε + (1 − σ)·x0. */
export function scaleNoise(x0: Float32Array, sigma: number, noise: Float32Array): Float32Array {
  const out = new Float32Array(x0.length);
  const keep = f32(1 - sigma);
  for (let k = 0; k < x0.length; k++) out[k] = sigma * noise[k]! + keep * x0[k]!;
  return out;
}
