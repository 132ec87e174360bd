import { render, screen } from "@testing-library/react";
import { parameterName, roleName } from "./api";
import { DisputeTable } from "./DisputeTable";

describe("the operator page", () => {
  it("names roles and parameters in words", () => {
    expect(["DEFAULT_ADMIN_ROLE", "ORACLE_ROLE", "PAUSER_ROLE"].map(roleName)).toEqual(["admin", "oracle", "pauser"]);
    expect(["accept_timeout_s", "fee_bps", "max_response_time_ms", "treasury", "min_stake"].map(parameterName))
      .toEqual(["accept timeout (s)", "fee (bps)", "max response time (ms)", "treasury", "min stake"]);
  });
  it("lists disputes open or resolved, with the evidence CID, reasons as text", () => {
    const base = { initiator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", raisedBlock: 40, finalCost: null, resolver: null, resolvedBlock: null };
    const { container } = render(<DisputeTable disputes={[
      { ...base, jobId: `0x${"a".repeat(64)}`, reason: "<script>it hung</script>", outcome: null, evidenceCid: null },
      { ...base, jobId: `0x${"b".repeat(64)}`, reason: "late", outcome: "Split", evidenceCid: "bafkreievidence" },
    ]} />);
    const outcomes = [...container.querySelectorAll("td[data-label=Outcome]")].map((c) => c.textContent);
    expect(outcomes).toEqual(["open", "Split"]);
    expect(screen.getByText("<script>it hung</script>")).toBeTruthy();
    expect(container.querySelector("tbody script")).toBeNull();
    expect(screen.getByText("bafkreievidence")).toBeTruthy();
  });
});
