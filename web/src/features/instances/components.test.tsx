import { render, screen } from "@testing-library/react";
import { CostMeter } from "./CostMeter";
import { LogView } from "./LogView";
import { job } from "./testJob";
import { SettlementView } from "./SettlementView";
import { logsUrl, parseEnd } from "./useLogStream";

describe("CostMeter", () => {
  it("shows the cost so far, the time left and warns when little is left", () => {
    const now = Math.floor(Date.now() / 1000);
    render(<CostMeter job={job({ startTime: now - 3300 })} symbol="GPU" skew={0} />);
    expect(screen.getByTestId("cost-so-far").textContent).toMatch(/^0\.91\d+ GPU$/);
    expect(screen.getByTestId("time-left").textContent).toMatch(/^\d+ min( \d+ s)? of 1 h$/);
    expect(screen.getByRole("alert").textContent).toMatch(/^Booked time runs out in \d+ min/);
  });
  it("uses the chain's clock, and says when nothing is billed yet", () => {
    const now = Math.floor(Date.now() / 1000);
    render(<CostMeter job={job({ startTime: now + 1800 - 60 })} symbol="GPU" skew={1800} />); // the chain is 30 min ahead
    expect(screen.getByTestId("time-left").textContent).toMatch(/^59 min/);
    expect(screen.queryByRole("alert")).toBeNull();
  });
  it("before the start: not billed", () => {
    render(<CostMeter job={job({ status: "Accepted", startTime: null })} symbol="GPU" skew={0} />);
    expect(screen.getByText("Not billed yet: the clock starts when the container runs.")).toBeTruthy();
    expect(screen.getByTestId("cost-so-far").textContent).toBe("0 GPU");
  });
});

describe("LogView", () => {
  it("renders a log's markup as text", () => {
    const { container } = render(
      <LogView stream={{ text: "<img src=x onerror=alert(1)>\n<b>bold?</b>\n", dropped: 2048, state: "ended", note: "The log stream closed.", start: () => undefined, stop: () => undefined }} />,
    );
    expect(container.querySelector("pre img, pre b")).toBeNull();
    expect(screen.getByLabelText("Job log").textContent).toContain("<b>bold?</b>");
    expect(screen.getByText("Older output not shown: 2,048 characters.")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Follow the log again" })).toBeTruthy();
  });
});

describe("SettlementView", () => {
  it("shows the provider's share, the fee and the refund", () => {
    render(<SettlementView settlement={{ provider: "0.0049", fee: "0.0001", refund: "0.578333333333333333" }} symbol="GPU" />);
    expect(screen.getByTestId("paid-provider").textContent).toBe("0.0049 GPU");
    expect(screen.getByTestId("paid-fee").textContent).toBe("0.0001 GPU");
    expect(screen.getByTestId("refund").textContent).toBe("0.5783 GPU");
  });
});

describe("the log stream's words", () => {
  it("reads the gateway's end frames and ignores other text", () => {
    expect(parseEnd('{"end": "the stream ended: the job is over or its whole log was sent"}')).toBe("The whole log so far was sent: the stream ended.");
    expect(parseEnd('{"error": "the provider refused: stale request"}')).toBe("The log stream failed: the provider refused: stale request");
    expect(parseEnd("not json")).toBeNull();
    expect(parseEnd('{"other": 1}')).toBeNull();
  });
  it("opens the WebSocket on this origin, wss behind https", () => {
    const id = `0x${"ab".repeat(32)}`;
    expect(logsUrl(id, { protocol: "https:", host: "gpurent.example" } as Location)).toBe(`wss://gpurent.example/api/v1/instances/${id}/logs`);
    expect(logsUrl(id, { protocol: "http:", host: "127.0.0.1:8200" } as Location)).toBe(`ws://127.0.0.1:8200/api/v1/instances/${id}/logs`);
  });
});
