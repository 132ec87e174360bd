import { meter } from "./meter";
import { phases } from "./timeline";
import { LogBuffer } from "./logBuffer";
import { job } from "./testJob";

describe("the meter", () => {
  it("bills the seconds run at the job's price, as the contract does", () => {
    const m = meter(job(), 1000 + 900);
    expect(m).toMatchObject({ billing: true, elapsed: 900, left: 2700, booked: 3600, warn: false });
    expect(m.cost).toBe(250_000_000_000_000_000n); // a quarter of an hour at 1 an hour
    expect(m.perSecond).toBe(10n ** 18n / 3600n);
    expect(m.max).toBe(10n ** 18n);
  });
  it("stops at the booked time and warns under 10 minutes or 10% left", () => {
    expect(meter(job(), 1000 + 3600 - 599).warn).toBe(true);
    expect(meter(job(), 1000 + 3600 - 601).warn).toBe(false);
    expect(meter(job({ estimatedDuration: 36_000, maxCost: "10" }), 1000 + 36_000 - 3500).warn).toBe(true); // < 10%
    const over = meter(job(), 1000 + 99_999);
    expect(over).toMatchObject({ elapsed: 3600, left: 0, warn: true });
    expect(over.cost).toBe(10n ** 18n);
  });
  it("does not bill before the container runs, nor a clock behind the start", () => {
    expect(meter(job({ status: "Created", startTime: null }), 5000)).toMatchObject({ billing: false, cost: 0n, left: 3600, warn: false });
    expect(meter(job(), 900)).toMatchObject({ elapsed: 0, cost: 0n });
  });
});

describe("the phases", () => {
  it("shows those reached and those ahead on the usual path", () => {
    const shown = phases([{ status: "Created", block: 5, timestamp: 100 }], "Created");
    expect(shown.map((p) => [p.status, p.reached, p.current])).toEqual([
      ["Created", true, true], ["Accepted", false, false], ["Running", false, false], ["Completed", false, false],
    ]);
    expect(shown[0]?.at).toBe(100);
  });
  it("ends where the job ended, in block order", () => {
    const shown = phases([{ status: "Cancelled", block: 9, timestamp: 200 }, { status: "Created", block: 5, timestamp: 100 }], "Cancelled");
    expect(shown.map((p) => p.status)).toEqual(["Created", "Cancelled"]);
    expect(shown.at(-1)?.label).toBe("Cancelled: refunded");
  });
  it("counts a status not yet in the history as reached", () => {
    expect(phases([], "Running").map((p) => [p.status, p.reached])).toEqual([["Running", true], ["Completed", false]]);
  });
});

describe("the log buffer", () => {
  it("keeps the last `limit` characters, from a whole line when one is near", () => {
    const buffer = new LogBuffer(100);
    for (let i = 0; i < 50; i += 1) buffer.push(new TextEncoder().encode(`line ${i}\n`));
    expect(buffer.value.length).toBeLessThanOrEqual(100);
    expect(buffer.value.endsWith("line 49\n")).toBe(true);
    expect(buffer.value.startsWith("line ")).toBe(true);
    expect(buffer.droppedChars + buffer.value.length).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join("").length);
  });
  it("joins a character split across two frames", () => {
    const bytes = new TextEncoder().encode("é€");
    const buffer = new LogBuffer();
    buffer.push(bytes.slice(0, 1));
    expect(buffer.push(bytes.slice(1))).toBe("é€");
  });
});
