import { useId } from "react";
import { niceMax, point, type Box } from "./charts";

export interface Series {
  name: string;
  values: number[];
}

interface ChartProps {
  title: string; // the chart's name: its <title>, its label and its table's caption
  labels: string[]; // along x, one per value
  xName: string; // what the labels are ("Day", "Block"): the table's first column
  series: Series[];
  kind: "bar" | "line";
  format(value: number): string;
  top?: number; // the axis' top (default: a round number over the largest value)
}

const BOX: Box = { width: 640, height: 230, left: 56, bottom: 28, top: 12 };
const COLORS = ["var(--accent)", "#b35900", "#2e7d32"];

/** A small SVG bar or line chart, described for screen readers, with its data as a table. */
export function Chart({ title, labels, xName, series, kind, format, top }: ChartProps) {
  const id = useId();
  const max = top ?? niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const n = labels.length;
  const slot = (BOX.width - BOX.left) / Math.max(1, n);
  const every = Math.max(1, Math.ceil(n / 8)); // at most 8 x labels
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-labelledby={`${id}-t`}>
        <title id={`${id}-t`}>{title}</title>
        {[0, 0.5, 1].map((f) => {
          const y = point(0, 1, max * f, max, BOX).y;
          return (
            <g key={f} className="grid">
              <line x1={BOX.left} x2={BOX.width} y1={y} y2={y} />
              <text x={BOX.left - 6} y={y + 4} textAnchor="end">{format(max * f)}</text>
            </g>
          );
        })}
        {labels.map((label, i) => i % every === 0 && (
          <text key={i} className="x-label" x={point(i, n, 0, max, BOX).x} y={BOX.height - 8} textAnchor="middle">{label}</text>
        ))}
        {series.map((s, k) => {
          const color = COLORS[k % COLORS.length];
          const points = s.values.map((v, i) => point(i, n, v, max, BOX));
          if (kind === "bar") {
            return points.map((p, i) => (
              <rect key={`${s.name}-${i}`} x={p.x - slot * 0.35} width={slot * 0.7} y={p.y}
                    height={BOX.height - BOX.bottom - p.y} fill={color} />
            ));
          }
          return (
            <g key={s.name}>
              <polyline fill="none" stroke={color} strokeWidth={2} points={points.map((p) => `${p.x},${p.y}`).join(" ")} />
              {points.map((p, i) => <circle key={i} cx={p.x} cy={p.y} r={3} fill={color} />)}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <figcaption className="legend">
          {series.map((s, k) => (
            <span key={s.name}><span className={`swatch swatch-${k % COLORS.length}`} aria-hidden="true" /> {s.name}</span>
          ))}
        </figcaption>
      )}
      <details>
        <summary>{title}: the data as a table</summary>
        <table>
          <caption className="visually-hidden">{title}</caption>
          <thead>
            <tr>
              <th scope="col">{xName}</th>
              {series.map((s) => <th key={s.name} scope="col">{s.name}</th>)}
            </tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={i}>
                <th scope="row" data-label={xName}>{label}</th>
                {series.map((s) => <td key={s.name} data-label={s.name}>{format(s.values[i] ?? 0)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
