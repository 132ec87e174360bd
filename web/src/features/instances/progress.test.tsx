import { render, screen } from "@testing-library/react";
import { PhaseTimeline } from "./PhaseTimeline";
import { describeProgress, parseProgress, type Progress } from "./progress";
import { parseEnd, streamUrl } from "./useJobStream";
import type { ProgressStream } from "./useProgressStream";

const MB = 2 ** 20;
const frame = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ phase: "pulling", bytesDone: 120 * MB, bytesTotal: 266 * MB, exitCode: null, problem: null, ...over });
const stream = (progress: Progress | null, state: ProgressStream["state"] = "open"): ProgressStream =>
  ({ progress, state, note: null, start: () => undefined, stop: () => undefined });

describe("the agent's progress frame", () => {
  it("is read, and refused when it is not one", () => {
    expect(parseProgress(frame())).toEqual({ phase: "pulling", bytesDone: 120 * MB, bytesTotal: 266 * MB, exitCode: null, problem: null });
    for (const bad of ["{", "[]", frame({ phase: "<b>x</b>" }), frame({ bytesDone: -1 }), frame({ bytesDone: 1.5 }),
      frame({ bytesTotal: "266" }), frame({ exitCode: "0" }), frame({ bytesDone: Infinity })]) {
      expect(parseProgress(bad)).toBeNull();
    }
    expect(parseProgress(frame({ bytesDone: 300 * MB }))?.bytesDone).toBe(266 * MB); // never past the total
    expect(parseProgress(frame({ phase: "failed", problem: "x".repeat(1000) }))?.problem).toHaveLength(200);
  });
  it("is said in words", () => {
    expect(describeProgress(parseProgress(frame())!)).toBe("Pulling the image: 45 % (120.0 MiB of 266.0 MiB)");
    expect(describeProgress(parseProgress(frame({ bytesTotal: null, bytesDone: 5 * MB }))!)).toBe("Pulling the image: 5.0 MiB so far");
    expect(describeProgress(parseProgress(frame({ phase: "starting" }))!)).toBe("Starting the container");
    expect(describeProgress(parseProgress(frame({ phase: "exited", exitCode: 3 }))!)).toBe("The container exited (exit code 3)");
    expect(describeProgress(parseProgress(frame({ phase: "failed", problem: "no such image" }))!)).toBe("Failed: no such image");
  });
  it("ends in words, over its own URL", () => {
    expect(parseEnd('{"end": "x"}', "progress")).toBe("The provider is done with the job: the progress stream ended.");
    expect(parseEnd(frame(), "progress")).toBeNull(); // a frame is never taken for the end
    expect(streamUrl("0xab", "progress", { protocol: "https:", host: "h" } as Location)).toBe("wss://h/api/v1/instances/0xab/progress");
  });
});

describe("PhaseTimeline with the agent's progress", () => {
  it("shows the pull with a progress bar", () => {
    render(<PhaseTimeline history={[{ status: "Created", block: 1, timestamp: 1 }]} status="Created"
      progress={stream(parseProgress(frame()))} />);
    expect(screen.getByTestId("agent-phase").textContent).toBe("Pulling the image: 45 % (120.0 MiB of 266.0 MiB)");
    const bar = screen.getByRole("progressbar", { name: "Image pulled" }) as HTMLProgressElement;
    expect([bar.value, bar.max]).toEqual([120 * MB, 266 * MB]);
    expect(screen.getByRole("button", { name: "Stop the provider's progress" })).toBeTruthy();
  });
  it("shows no bar past the pull, and the button before it is asked", () => {
    const { rerender } = render(<PhaseTimeline history={[]} status="Running" progress={stream(parseProgress(frame({ phase: "running" })))} />);
    expect(screen.getByTestId("agent-phase").textContent).toBe("Running");
    expect(screen.queryByRole("progressbar")).toBeNull();
    rerender(<PhaseTimeline history={[]} status="Created" progress={stream(null, "idle")} />);
    expect(screen.getByRole("button", { name: "Show the pull progress" })).toBeTruthy();
    rerender(<PhaseTimeline history={[]} status="Created" />);
    expect(screen.queryByRole("button")).toBeNull();
  });
});
