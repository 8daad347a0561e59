/**
 * Small robust statistics for the detectors: medians and quantiles, the Theil-Sen slope
 * (median of pairwise slopes: one outlier cannot tilt it), the Mann-Kendall trend test,
 * and rank correlation. Inputs are plain arrays; nulls are dropped by the caller.
 */

export function median (values: number[]): number {
  return quantile(values, 0.5)
}

/** linear interpolation between order statistics; NaN for an empty list */
export function quantile (values: number[], q: number): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo)
}

export function mean (values: number[]): number {
  if (values.length === 0) return NaN
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

export function sum (values: number[]): number {
  let s = 0
  for (const v of values) s += v
  return s
}

/** Pairs (x, y) where y is not null. */
export function pairs (x: number[], y: Array<number | null | undefined>): { x: number[]; y: number[] } {
  const ox: number[] = []
  const oy: number[] = []
  for (let i = 0; i < x.length; i++) {
    const v = y[i]
    if (v !== null && v !== undefined && Number.isFinite(v)) { ox.push(x[i]!); oy.push(v) }
  }
  return { x: ox, y: oy }
}

export interface Trend {
  /** Theil-Sen slope, units of y per unit of x */
  slope: number
  intercept: number
  /** Kendall's tau between x and y (-1..1) */
  tau: number
  /** two-sided p-value of the Mann-Kendall test (normal approximation) */
  p: number
  /** share of the variance of y the Theil-Sen line explains (can be negative) */
  r2: number
  n: number
}

/** At most this many points go into the O(n^2) pair loops; longer series are thinned evenly. */
const MAX_POINTS = 600

function thin (x: number[], y: number[]): { x: number[]; y: number[] } {
  if (x.length <= MAX_POINTS) return { x, y }
  const step = x.length / MAX_POINTS
  const ox: number[] = []
  const oy: number[] = []
  for (let i = 0; i < MAX_POINTS; i++) { const j = Math.floor(i * step); ox.push(x[j]!); oy.push(y[j]!) }
  return { x: ox, y: oy }
}

function normalCdf (z: number): number {
  // Abramowitz-Stegun 7.1.26 on erf
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2)
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2)
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2
}

export function trend (xIn: number[], yIn: number[]): Trend {
  const { x, y } = thin(xIn, yIn)
  const n = x.length
  if (n < 3) return { slope: 0, intercept: y[0] ?? 0, tau: 0, p: 1, r2: 0, n }
  const slopes: number[] = []
  let s = 0
  let ties = 0
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = x[j]! - x[i]!
      const dy = y[j]! - y[i]!
      if (dx !== 0) slopes.push(dy / dx)
      const sign = Math.sign(dx) * Math.sign(dy)
      s += sign
      if (dy === 0) ties++
    }
  }
  const slope = slopes.length ? median(slopes) : 0
  const intercept = median(x.map((xi, i) => y[i]! - slope * xi))
  const totalPairs = (n * (n - 1)) / 2
  const tau = s / Math.max(1, Math.sqrt((totalPairs - ties) * totalPairs))
  const varS = (n * (n - 1) * (2 * n + 5)) / 18
  const z = s === 0 ? 0 : (s - Math.sign(s)) / Math.sqrt(varS)
  const p = 2 * (1 - normalCdf(Math.abs(z)))
  const my = mean(y)
  let ssTot = 0
  let ssRes = 0
  for (let i = 0; i < n; i++) {
    ssTot += (y[i]! - my) ** 2
    ssRes += (y[i]! - (intercept + slope * x[i]!)) ** 2
  }
  const r2 = ssTot === 0 ? 0 : 1 - ssRes / ssTot
  return { slope, intercept, tau, p, r2, n }
}

function ranks (v: number[]): number[] {
  const idx = v.map((value, i) => ({ value, i })).sort((a, b) => a.value - b.value)
  const r = new Array<number>(v.length)
  for (let k = 0; k < idx.length;) {
    let e = k
    while (e + 1 < idx.length && idx[e + 1]!.value === idx[k]!.value) e++
    const avg = (k + e) / 2 + 1
    for (let m = k; m <= e; m++) r[idx[m]!.i] = avg
    k = e + 1
  }
  return r
}

export function pearson (x: number[], y: number[]): number {
  const n = Math.min(x.length, y.length)
  if (n < 3) return 0
  const mx = mean(x.slice(0, n))
  const my = mean(y.slice(0, n))
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx
    const dy = y[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy)
}

/** Spearman's rank correlation (-1..1). */
export function spearman (x: number[], y: number[]): number {
  return pearson(ranks(x), ranks(y))
}

/** Share of values that satisfy a predicate (0 for an empty list). */
export function shareOf (values: number[], pred: (v: number) => boolean): number {
  if (values.length === 0) return 0
  let k = 0
  for (const v of values) if (pred(v)) k++
  return k / values.length
}

