import { render, screen } from "@testing-library/react";
import { disputeDeadline, parameterName, roleName, type Dispute } from "./api";
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
    ]} now={1000} />);
    const outcomes = [...container.querySelectorAll("td[data-label=Outcome]")].map((c) => c.textContent);
    expect(outcomes).toEqual(["open", "Split"]);
    expect(screen.getByText("<script>it hung</script>")).toBeTruthy();
    expect(container.querySelector("tbody script")).toBeNull();
    expect(screen.getByText("bafkreievidence")).toBeTruthy();
  });
  it("says how long an open dispute waited against its deadline, and when anyone may settle it", () => {
    const open: Dispute = { jobId: "0x1", initiator: "0x2", reason: "", raisedBlock: 1, outcome: null, finalCost: null,
      resolver: null, evidenceCid: null, resolvedBlock: null, raisedAt: 1000, expiresAt: 1000 + 3 * 86400 };
    expect(disputeDeadline(open, 1000 + 7200)).toEqual({ text: "waited 2 h of 3 d", overdue: false });
    expect(disputeDeadline(open, 1000 + 2 * 86400)).toEqual({ text: "waited 2 d of 3 d", overdue: true }); // past half
    expect(disputeDeadline(open, 1000 + 3 * 86400 + 60)).toEqual({
      text: "waited 3 d 1 min of 3 d: anyone may settle it as a split now", overdue: true });
    expect(disputeDeadline({ ...open, outcome: "Split" }, 5000)).toBeNull();
    expect(disputeDeadline({ ...open, raisedAt: undefined }, 5000)).toBeNull();
  });
});
