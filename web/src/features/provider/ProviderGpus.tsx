import { formatTokens } from "../../lib/format";
import type { Gpu } from "../marketplace/types";
import { AvailabilityToggle, PriceForm, type ProviderActing } from "./ProviderActions";

const state = (g: Gpu) => (g.retired ? "Retired" : g.available ? "Available" : "Not available");

/** The provider's GPUs and whether each can be rented now; signed in as their provider
 * (`acting`), a switch for each one's availability and a field for its price (a retired GPU
 * takes neither). */
export function ProviderGpus({ gpus, symbol, acting, maxPrice }: { gpus: Gpu[]; symbol: string; acting?: ProviderActing | null; maxPrice?: string }) {
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
          {acting && <th scope="col">Change</th>}
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
            {acting && (
              <td data-label="Change" className="gpu-change">
                {g.retired ? "—" : (
                  <>
                    <AvailabilityToggle gpu={g} {...acting} />
                    <PriceForm key={g.pricePerHour} gpu={g} max={maxPrice} symbol={symbol} {...acting} />
                  </>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
