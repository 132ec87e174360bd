import { render, screen } from "@testing-library/react";
import type { Receipt } from "./api";
import { exactTokens, receiptJson, ReceiptView, splitTotal } from "./Receipt";

const TOKEN = { address: "0x5fbdb2315678afecb367f032d93f642f64180aa3", symbol: "GPU", decimals: 18 };

const receipt = (over: Partial<Receipt> = {}): Receipt => ({
  jobId: `0x${"ab".repeat(32)}`, status: "Completed", role: "renter",
  renter: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", provider: "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
  gpu: { id: `0x${"12".repeat(32)}`, model: "<b>RTX4090</b>" }, imageCid: "<img src=x onerror=alert(1)>",
  createdAt: 1764700000, startedAt: 1764700060, disputedAt: null, endedAt: 1764700960,
  bookedSeconds: 5400, usedSeconds: 900, pricePerHour: "10000000000000000000", maxCost: "15000000000000000000",
  finalCost: "2500000000000000001",
  split: { provider: "2450000000000000001", fee: "50000000000000000", refund: "12499999999999999999" },
  clawedBack: "0",
  creation: { block: 21, hash: `0x${"c1".repeat(32)}`, timestamp: 1764700000 },
  settlement: { block: 27, hash: `0x${"5e".repeat(32)}`, timestamp: 1764700960 },
  payments: [], chainId: 31337, marketplace: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", token: TOKEN, ...over,
});

describe("exact amounts", () => {
  it("shows base units as tokens to the last decimal, grouped, never through a float", () => {
    expect(exactTokens("2450000000000000001", TOKEN)).toBe("2.450000000000000001 GPU");
    expect(exactTokens("1234567000000000000000000", TOKEN)).toBe("1,234,567 GPU");
    expect(exactTokens("0", TOKEN)).toBe("0 GPU");
    expect(exactTokens("1e18", TOKEN)).toBe("—");
    expect(exactTokens("7", { ...TOKEN, decimals: 6, symbol: "USD" })).toBe("0.000007 USD");
  });
  it("sums the split in base units", () => {
    expect(splitTotal(receipt().split)).toBe(15000000000000000000n);
    expect(splitTotal({ provider: "1", fee: "x", refund: "0" })).toBeNull();
  });
});

describe("ReceiptView", () => {
  it("shows the split as paid, its total equal to what was locked, and the transactions", () => {
    render(<ReceiptView receipt={receipt()} />);
    expect(screen.getByTestId("receipt-provider").textContent).toBe("2.450000000000000001 GPU");
    expect(screen.getByTestId("receipt-fee").textContent).toBe("0.05 GPU");
    expect(screen.getByTestId("receipt-refund").textContent).toBe("12.499999999999999999 GPU");
    expect(screen.getByTestId("receipt-total").textContent).toBe("15 GPU");
    expect(screen.getByText("The total is what was locked in escrow, to the base unit.")).toBeTruthy();
    expect(screen.getByText("Refunded to you")).toBeTruthy();
    expect(screen.getByText("15 min (900 s)")).toBeTruthy();
    expect(screen.getByText(`0x${"5e".repeat(32)}`)).toBeTruthy();
    expect(screen.queryByText("Disputed")).toBeNull();
  });
  it("renders the API's text as text", () => {
    const { container } = render(<ReceiptView receipt={receipt()} />);
    expect(container.querySelector("img, b")).toBeNull();
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeTruthy();
    expect(screen.getByText(`<b>RTX4090</b> (0x${"12".repeat(32)})`)).toBeTruthy();
  });
  it("says so when the parts do not add up, and names a provider's view and a dispute", () => {
    render(<ReceiptView receipt={receipt({ role: "provider", maxCost: "16000000000000000000", disputedAt: 1764700900,
      clawedBack: "1000000000000000000", usedSeconds: null })} />);
    expect(screen.getByRole("alert").textContent).toMatch(/do not add up/);
    expect(screen.getByText("Refunded to the renter")).toBeTruthy();
    expect(screen.getByText("Disputed")).toBeTruthy();
    expect(screen.getByText(/Taken back from the provider's stake for the renter: 1 GPU/)).toBeTruthy();
  });
});

describe("the JSON download", () => {
  it("is the gateway's receipt as it came", () => {
    const data = receipt();
    expect(JSON.parse(receiptJson(data))).toEqual(data);
  });
});
