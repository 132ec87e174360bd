import { fireEvent, render, screen, within } from "@testing-library/react";
import { GpuTable } from "./GpuTable";
import { MarketplaceFilters } from "./MarketplaceFilters";
import { DEFAULT_FILTERS } from "./query";
import type { Gpu } from "./types";

const gpu = (over: Partial<Gpu>): Gpu => ({
  id: "0x01",
  providerAddress: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  gpuModel: "A100",
  vcpu: 16,
  memoryGb: 80,
  storageGb: 500,
  pricePerHour: "3",
  available: true,
  retired: false,
  reputation: 700,
  totalUptime: 0,
  uptimeBps: 9920,
  responseBps: 9700,
  ...over,
});

describe("GpuTable", () => {
  it("shows a GPU's fields, the price in tokens and the reputation out of 1000", () => {
    render(<GpuTable rows={[gpu({ pricePerHour: "1234.5" })]} symbol="GPU" />);
    const row = screen.getAllByRole("row")[1];
    expect(row).toBeDefined();
    const cells = within(row as HTMLElement).getAllByRole("cell").map((c) => c.textContent);
    expect(cells).toEqual(["80 GB", "16", "500 GB", "1,234.5 GPU", "700 / 1000 · uptime 99.2% · response 97%", "0x15d3…6A65", "—", "—", "Available", "Rent"]);
    const link = within(row as HTMLElement).getByRole("link", { name: "Rent A100 at 1,234.5 GPU an hour" });
    expect(link.getAttribute("href")).toBe(`/rent/${gpu({}).id}`);
  });
  it("says when the provider's components are not measured yet", () => {
    render(<GpuTable rows={[gpu({ uptimeBps: null, responseBps: null }), gpu({ id: "0x02", uptimeBps: 10000, responseBps: 1 })]} symbol="GPU" />);
    expect(screen.getAllByTestId("reputation").map((c) => c.textContent)).toEqual([
      "700 / 1000 · components not measured yet", "700 / 1000 · uptime 100% · response 0.01%"]);
  });
  it("shows the provider's record and time to start once known", () => {
    const record = { completed: 2, started: 3, abandoned: 1, disputes: 1, disputesLost: 1, medianStartS: 120, startSamples: 3, recentJobs: 200 };
    render(<GpuTable rows={[gpu({})]} symbol="GPU" records={{ [gpu({}).providerAddress.toLowerCase()]: record }} />);
    expect(screen.getByTestId("record").textContent).toBe("2 completed · 1 abandoned · 1 dispute, 1 lost");
    expect(screen.getByTestId("start-estimate").textContent).toBe("~2 min (median of 3 jobs)");
  });
  it("with an image chosen, says at each provider whether it is cached there, and the Rent link carries it", () => {
    const cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    const other = "0x" + "cd".repeat(20);
    const rows = [gpu({}), gpu({ id: "0x02", providerAddress: other }), gpu({ id: "0x03", providerAddress: "0x" + "ef".repeat(20) })];
    render(<GpuTable rows={rows} symbol="GPU" image={cid}
      images={{ [gpu({}).providerAddress.toLowerCase()]: "ready", [other]: null }} />);
    const said = screen.getAllByTestId("image-here").map((c) => c.textContent);
    expect(said).toEqual(["image already cached here: starts without a download",
      "whether the image is here is not known (the provider did not say)"]);  // the third: no answer yet, nothing said
    const link = screen.getAllByRole("link", { name: "Rent A100 at 3 GPU an hour" })[0] as HTMLAnchorElement;
    expect(link.getAttribute("href")).toBe(`/rent/0x01?image=${cid}`);
  });
  it("renders markup from the chain as text, never as elements", () => {
    const { container } = render(<GpuTable rows={[gpu({ gpuModel: "<img src=x onerror=alert(1)>", reputation: null })]} symbol="GPU" />);
    expect(screen.getByText("<img src=x onerror=alert(1)>")).toBeTruthy();
    expect(container.querySelector("img")).toBeNull();
    expect(screen.getByText("not rated yet · uptime 99.2% · response 97%")).toBeTruthy();
  });
  it("marks the first rows for the benchmark once", () => {
    performance.clearMarks();
    const { rerender } = render(<GpuTable rows={[gpu({})]} symbol="GPU" />);
    rerender(<GpuTable rows={[gpu({}), gpu({ id: "0x02" })]} symbol="GPU" />);
    expect(performance.getEntriesByName("gpurent:marketplace-first-rows")).toHaveLength(1);
  });
});

describe("MarketplaceFilters", () => {
  it("labels every control and reports each change", () => {
    const onChange = vi.fn();
    render(<MarketplaceFilters filters={DEFAULT_FILTERS} onChange={onChange} />);
    for (const label of ["Model", "Minimum VRAM", "Minimum vCPUs", "Maximum price (GPU/hour)", "Minimum reputation (0-1000)",
      "Minimum uptime (%)", "Minimum response (%)", "Availability",
      "Image you will run (CID)", "Sort by"]) {
      expect(screen.getByLabelText(label)).toBeTruthy();
    }
    fireEvent.change(screen.getByLabelText("Minimum VRAM"), { target: { value: "24" } });
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_FILTERS, minVram: "24" });
    fireEvent.change(screen.getByLabelText("Minimum uptime (%)"), { target: { value: "99.5" } });
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_FILTERS, minUptime: "99.5" });
    fireEvent.change(screen.getByLabelText("Minimum response (%)"), { target: { value: "90" } });
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_FILTERS, minResponse: "90" });
    fireEvent.change(screen.getByLabelText("Sort by"), { target: { value: "memory_desc" } });
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_FILTERS, sort: "memory_desc" });
    fireEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(onChange).toHaveBeenLastCalledWith(DEFAULT_FILTERS);
  });
});
