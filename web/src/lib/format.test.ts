import { formatAmount, formatDuration, formatTime, formatTokens, fromBaseUnits, shortAddress, shortId, toBaseUnits } from "./format";

describe("fromBaseUnits", () => {
  it("is exact for 18 decimals, whole and fractional", () => {
    expect(fromBaseUnits(1_500_000_000_000_000_000n)).toBe("1.5");
    expect(fromBaseUnits(10n ** 18n)).toBe("1");
    expect(fromBaseUnits(1n)).toBe("0.000000000000000001");
    expect(fromBaseUnits(0n)).toBe("0");
    expect(fromBaseUnits(-25n, 1)).toBe("-2.5");
    expect(fromBaseUnits(2n ** 256n - 1n)).toBe("115792089237316195423570985008687907853269984665640564039457.584007913129639935");
  });
  it("takes other decimals", () => {
    expect(fromBaseUnits(123456n, 6)).toBe("0.123456");
    expect(fromBaseUnits(7n, 0)).toBe("7");
  });
});

describe("formatAmount", () => {
  it("groups thousands and rounds down to four places", () => {
    expect(formatAmount("9985.123456")).toBe("9,985.1234");
    expect(formatAmount("1234567")).toBe("1,234,567");
    expect(formatAmount("0.99999")).toBe("0.9999");
    expect(formatAmount("3.5000")).toBe("3.5");
    expect(formatAmount("007")).toBe("7");
  });
  it("leaves what is not a decimal as it is", () => {
    expect(formatAmount("1e5")).toBe("1e5");
  });
  it("says when there is no amount", () => {
    expect(formatTokens(null)).toBe("—");
    expect(formatTokens("2", "GPU")).toBe("2 GPU");
  });
});

describe("shortAddress and formatTime", () => {
  it("shortens addresses only", () => {
    expect(shortAddress("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65")).toBe("0x15d3…6A65");
    expect(shortAddress("not an address")).toBe("not an address");
  });
  it("writes UTC times", () => {
    expect(formatTime(0)).toBe("—");
    expect(formatTime(1_700_000_000)).toBe("2023-11-14 22:13:20 UTC");
  });
});

describe("toBaseUnits", () => {
  it("is exact and the inverse of fromBaseUnits", () => {
    expect(toBaseUnits("2.5")).toBe(2_500_000_000_000_000_000n);
    expect(toBaseUnits("0.000000000000000001")).toBe(1n);
    expect(toBaseUnits("10")).toBe(10n ** 19n);
    expect(toBaseUnits("0.583333333333333333")).toBe(583_333_333_333_333_333n);
    for (const v of ["0", "1.5", "9985.123456", "0.583333333333333333"]) expect(fromBaseUnits(toBaseUnits(v) ?? -1n)).toBe(v);
  });
  it("refuses what is not a plain amount", () => {
    for (const v of ["", "-1", "1e18", "0.0000000000000000001", "abc", "1.2.3"]) expect(toBaseUnits(v)).toBeNull();
  });
});

describe("formatDuration", () => {
  it("says hours, minutes and seconds as people do", () => {
    expect(formatDuration(9000)).toBe("2 h 30 min");
    expect(formatDuration(300)).toBe("5 min");
    expect(formatDuration(90)).toBe("1 min 30 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(-3)).toBe("0 s");
    expect(formatDuration(90 * 86400 + 3600)).toBe("90 d 1 h");
  });
});

describe("shortId", () => {
  it("shortens long hex ids only", () => {
    expect(shortId(`0x${"ab".repeat(32)}`)).toBe("0xababab…abab");
    expect(shortId("0x12")).toBe("0x12");
  });
});
