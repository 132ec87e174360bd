import { formatTokens } from "../../lib/format";
import type { Gpu } from "../marketplace/types";

const state = (g: Gpu) => (g.retired ? "Retired" : g.available ? "Available" : "Not available");

/** The provider's GPUs and whether each can be rented now. */
export function ProviderGpus({ gpus, symbol }: { gpus: Gpu[]; symbol: string }) {
  if (gpus.length === 0) return <p>No GPUs registered yet.</p>;
  return (
    <table className="provider-gpus">
      <caption className="visually-hidden">Your GPUs</caption>
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">vCPUs</th>
          <th scope="col">Memory</th>
          <th scope="col">Price per hour</th>
          <th scope="col">Availability</th>
        </tr>
      </thead>
      <tbody>
        {gpus.map((g) => (
          <tr key={g.id}>
            <th scope="row" data-label="Model">{g.gpuModel}</th>
            <td data-label="vCPUs">{g.vcpu}</td>
            <td data-label="Memory">{g.memoryGb} GB</td>
            <td data-label="Price per hour">{formatTokens(g.pricePerHour, symbol)}</td>
            <td data-label="Availability">{state(g)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
