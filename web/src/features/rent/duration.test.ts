import { bookedSeconds, cidProblem, costOf } from "./duration";

describe("the booking as typed", () => {
  it("is hours and minutes in seconds, within one booking's bounds", () => {
    expect(bookedSeconds("2", "30")).toEqual({ seconds: 9000 });
    expect(bookedSeconds("", "5")).toEqual({ seconds: 300 });
    expect(bookedSeconds("2160", "0")).toEqual({ seconds: 90 * 86400 });
    expect(bookedSeconds("0", "0")).toEqual({ problem: "Book at least one minute." });
    expect(bookedSeconds("1.5", "0")).toHaveProperty("problem");
    expect(bookedSeconds("-1", "0")).toHaveProperty("problem");
    expect(bookedSeconds("2160", "1")).toEqual({ problem: "One booking is at most 90 days: book less, and extend it later." });
  });
  it("costs what the contract charges, rounded down", () => {
    expect(costOf("1", 9000)).toBe("2.5");
    expect(costOf("1", 300)).toBe("0.083333333333333333");
    expect(costOf("8", 3600)).toBe("8");
    expect(costOf("nope", 60)).toBeNull();
  });
  it("wants a CID", () => {
    expect(cidProblem("")).toMatch(/Enter the CID/);
    expect(cidProblem("bafy<script>")).toMatch(/letters and digits/);
    expect(cidProblem("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")).toBeNull();
  });
});
