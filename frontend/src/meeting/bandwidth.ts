// The bandwidth caps a user can pick for a bad link (kbit/s of video each
// way; 0: none). 256 kbit/s still carries a small camera picture.
const presets = [0, 1500, 1000, 500, 256];

export interface BandwidthChoice {
  kbps: number;
  label: string;
}

export function bandwidthLabel(kbps: number): string {
  if (kbps === 0) return "No limit";
  return kbps >= 1000 && kbps % 100 === 0 ? `${kbps / 1000} Mbit/s` : `${kbps} kbit/s`;
}

// The presets, with the cap now in force among them when it is another
// (set with --max-bitrate), so that the list shows what holds.
export function bandwidthChoices(current: number): BandwidthChoice[] {
  const all = presets.includes(current) ? presets : [...presets, current].sort((a, b) => (a === 0 ? -1 : b === 0 ? 1 : b - a));
  return all.map((kbps) => ({ kbps, label: kbps === 256 ? `${bandwidthLabel(kbps)} (bad link)` : bandwidthLabel(kbps) }));
}
