// The arithmetic of the small SVG charts: a round top for the axis, points in the plot box.

/** The smallest 1, 2 or 5 × 10^n at or above `max` (1 for nothing to show). */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export interface Box {
  width: number;
  height: number;
  left: number; // room for the axis labels
  bottom: number;
  top: number; // room for the top axis label
}

/** Where the i-th of n values sits along x (the middle of its slot) and y (0 at the bottom). */
export function point(i: number, n: number, value: number, top: number, box: Box): { x: number; y: number } {
  const slot = (box.width - box.left) / Math.max(1, n);
  const plot = box.height - box.bottom - box.top;
  const clamped = Math.min(Math.max(value, 0), top);
  return { x: box.left + slot * (i + 0.5), y: box.top + plot - (clamped / top) * plot };
}
