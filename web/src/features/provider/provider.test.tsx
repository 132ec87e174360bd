import { render, screen, within } from "@testing-library/react";
import { Chart } from "../../components/Chart";
import { niceMax, point } from "../../components/charts";
import { scorePoints, type ProviderBoard } from "./api";
import { ProviderSummary } from "./ProviderSummary";

describe("chart arithmetic", () => {
  it("rounds the axis' top up to 1, 2 or 5 × 10^n", () => {
    expect([niceMax(0), niceMax(0.3), niceMax(4.9), niceMax(12), niceMax(100), niceMax(101)]).toEqual([1, 0.5, 5, 20, 100, 200]);
  });
  it("puts values in the middle of their slot, 0 at the bottom, clamped to the box", () => {
    const box = { width: 110, height: 70, left: 10, bottom: 10, top: 10 };
    expect(point(0, 2, 0, 10, box)).toEqual({ x: 35, y: 60 });
    expect(point(1, 2, 10, 10, box)).toEqual({ x: 85, y: 10 }); // the top label's room kept
    expect(point(1, 2, 50, 10, box).y).toBe(10);
    expect(point(0, 1, -3, 10, box).y).toBe(60);
  });
});

describe("Chart", () => {
  it("is an image named by its title, with its data as a table of text", () => {
    const { container } = render(<Chart kind="bar" title="Earnings by day" xName="Day" labels={["2026-12-01", "2026-12-02"]}
      series={[{ name: "Earned", values: [2.45, 4.9] }]} format={(v) => String(v)} />);
    expect(screen.getByRole("img", { name: "Earnings by day" })).toBeTruthy();
    expect(container.querySelectorAll("rect")).toHaveLength(2);
    const rows = within(container.querySelector("details table") as HTMLElement).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual(["DayEarned", "2026-12-012.45", "2026-12-024.9"]);
  });
  it("draws a line a series, with a legend when there are several", () => {
    const { container } = render(<Chart kind="line" title="Score" xName="Block" labels={["47", "90"]} top={100}
      series={[{ name: "Score", values: [72.9, 80] }, { name: "Uptime", values: [53, 60] }]} format={(v) => String(v)} />);
    expect(container.querySelectorAll("polyline")).toHaveLength(2);
    expect(container.querySelector("figcaption")?.textContent).toContain("Uptime");
  });
});

const board = (over: Partial<ProviderBoard> = {}): ProviderBoard => ({
  address: "0x90f79bf6eb2c4f870365e785982e1f101e93b906", endpoint: "<b>http://x</b>", stake: "100", score: 689,
  uptimeBps: 5312, responseBps: 5827, penaltyPoints: 50, reports: 1, gpus: [],
  jobs: { total: 3, ended: 2, byStatus: {} }, earningsByDay: [], reputationHistory: [], ...over,
});

describe("the provider dashboard", () => {
  it("reads the score changes of the history as percentages", () => {
    expect(scorePoints([
      { block: 47, kind: "report", detail: {} },
      { block: 47, kind: "score", detail: { score: 729, uptime_bps: 5312, response_bps: 5827 } },
    ])).toEqual([{ block: 47, score: 729, uptime: 53.12, response: 58.27 }]);
  });
  it("says stake, reputation, its parts and jobs run, markup as text", () => {
    const { container } = render(<ProviderSummary board={board()} symbol="GPU" />);
    const facts = [...container.querySelectorAll("dd")].map((d) => d.textContent);
    expect(facts).toEqual(["100 GPU", "689 / 1000", "53.12%", "58.27%", "50", "1", "2 ended of 3", "<b>http://x</b>"]);
    expect(container.querySelector("dd b")).toBeNull();
  });
});
